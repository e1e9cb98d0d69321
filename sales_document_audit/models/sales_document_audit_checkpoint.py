import json
import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from .. import settings
from ..lib import anchors, chain, signing, trail

_logger = logging.getLogger(__name__)


class SalesDocumentAuditCheckpoint(models.Model):
    """A sealed range of one company's audit rows.

    Holds the Merkle root of the row hashes of the range and is chained to
    the previous checkpoint of the company. Written only by the sealing job
    (raw SQL); the database refuses any UPDATE or DELETE.
    """

    _name = "sales.document.audit.checkpoint"
    _description = "Audit Checkpoint"
    _order = "id desc"
    _log_access = False
    _rec_name = "hash"

    company_id = fields.Many2one("res.company", string="Company", readonly=True, index=True, ondelete="restrict")
    first_sequence = fields.Integer(readonly=True)
    last_sequence = fields.Integer(readonly=True)
    first_log_id = fields.Integer(string="First entry", readonly=True)
    last_log_id = fields.Integer(string="Last entry", readonly=True)
    row_count = fields.Integer(string="Entries", readonly=True)
    merkle_root = fields.Char(string="Merkle root", readonly=True)
    prev_hash = fields.Char(string="Previous checkpoint hash", readonly=True)
    hash = fields.Char(readonly=True)
    sealed_at = fields.Datetime(string="Sealed on", readonly=True)
    signature = fields.Char(readonly=True, help="Ed25519 signature of the checkpoint, base64.")
    key_fingerprint = fields.Char(
        string="Signing key", readonly=True, help="SHA-256 fingerprint of the public key that verifies the signature."
    )
    anchor_ids = fields.One2many("sales.document.audit.anchor", "checkpoint_id", string="Anchors", readonly=True)
    anchor_state = fields.Selection(
        [("unsigned", "Not signed"), ("pending", "Waiting for anchoring"), ("anchored", "Anchored")],
        string="Anchoring", compute="_compute_anchor_state",
    )

    # ------------------------------------------------------------------
    # Compute
    # ------------------------------------------------------------------

    @api.depends("signature", "anchor_ids")
    def _compute_anchor_state(self):
        for checkpoint in self:
            if not checkpoint.signature:
                checkpoint.anchor_state = "unsigned"
            else:
                checkpoint.anchor_state = "anchored" if checkpoint.anchor_ids else "pending"

    @api.model_create_multi
    def create(self, vals_list):  # pylint: disable=method-required-super
        # Written by the sealing job only (raw SQL); users without access get the access error.
        self.browse().check_access("create")
        raise UserError(_("Audit checkpoints are created by the sealing job only."))

    def write(self, vals):  # pylint: disable=method-required-super
        self.check_access("write")
        raise UserError(_("Audit checkpoints cannot be modified."))

    def unlink(self):  # pylint: disable=method-required-super
        self.check_access("unlink")
        raise UserError(_("Audit checkpoints cannot be deleted."))

    def copy(self, default=None):  # pylint: disable=method-required-super
        raise UserError(_("Audit checkpoints cannot be duplicated."))

    def init(self):
        self._sd_create_refuse_function()
        self.env.cr.execute(SQL(
            """
            DROP TRIGGER IF EXISTS sales_document_audit_checkpoint_guard ON sales_document_audit_checkpoint;
            CREATE TRIGGER sales_document_audit_checkpoint_guard
                BEFORE UPDATE OR DELETE ON sales_document_audit_checkpoint
                FOR EACH ROW EXECUTE FUNCTION sales_document_audit_refuse();
            DROP TRIGGER IF EXISTS sales_document_audit_checkpoint_truncate ON sales_document_audit_checkpoint;
            CREATE TRIGGER sales_document_audit_checkpoint_truncate
                BEFORE TRUNCATE ON sales_document_audit_checkpoint
                FOR EACH STATEMENT EXECUTE FUNCTION sales_document_audit_refuse();
            """
        ))

    @api.model
    def _sd_create_refuse_function(self):
        """The trigger function refusing every change of checkpoints and their anchors."""
        self.env.cr.execute(SQL(
            """
            CREATE OR REPLACE FUNCTION sales_document_audit_refuse() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'sales document audit checkpoints cannot be modified or deleted'
                    USING ERRCODE = 'insufficient_privilege';
            END
            $$;
            """
        ))

    @api.model
    def _last_for_company(self, company_id):
        self.env.cr.execute(SQL(
            """SELECT id, hash, last_sequence FROM sales_document_audit_checkpoint
                WHERE company_id IS NOT DISTINCT FROM %s ORDER BY last_sequence DESC LIMIT 1""",
            company_id,
        ))
        return self.env.cr.dictfetchone()

    @api.model
    def _read_chain(self, company_id):
        self.env.cr.execute(SQL(trail.CHECKPOINTS_QUERY, company_id))
        return self.env.cr.dictfetchall()

    @api.model
    def _create_sealed(self, company_id, rows, hashes, last):
        """Insert the checkpoint sealing ``rows`` (already given sequences)."""
        values = {
            "company_id": company_id,
            "first_sequence": rows[0]["sequence"],
            "last_sequence": rows[-1]["sequence"],
            "row_count": len(rows),
            "merkle_root": chain.merkle_root(hashes),
        }
        prev_hash = (last or {}).get("hash") or ""
        values["hash"] = chain.checkpoint_hash(prev_hash, values)
        values.update(
            first_log_id=min(row["id"] for row in rows), last_log_id=max(row["id"] for row in rows),
            prev_hash=prev_hash, sealed_at=fields.Datetime.now(),
        )
        values["signature"], values["key_fingerprint"] = self._sd_sign(values)
        self.env.cr.execute(SQL(
            """INSERT INTO sales_document_audit_checkpoint
                   (company_id, first_sequence, last_sequence, first_log_id, last_log_id, row_count,
                    merkle_root, prev_hash, hash, sealed_at, signature, key_fingerprint)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
            company_id, values["first_sequence"], values["last_sequence"], values["first_log_id"],
            values["last_log_id"], values["row_count"], values["merkle_root"], prev_hash, values["hash"],
            values["sealed_at"], values["signature"], values["key_fingerprint"],
        ))
        return self.browse(self.env.cr.fetchone()[0])

    @api.model
    def export_checkpoints(self, company_id=None, after_id=0):
        """JSON text of the checkpoints (for storage outside the database).

        For auditors, security officers and administrators, over the
        companies they belong to (all of them, or ``company_id``).
        """
        if not isinstance(after_id, int):
            raise UserError(_("The last checkpoint already exported must be given by its id."))
        company_ids = self.env["sales.document.audit.log"]._check_trail_verifier(company_id)
        return self._export_checkpoints(company_ids, after_id)

    @api.model
    def _export_checkpoints(self, company_ids=None, after_id=0):
        """``export_checkpoints`` for server code: no rights check (``None``: every company)."""
        domain = [("id", ">", after_id)]
        if company_ids is not None:
            domain.append(("company_id", "in", [company_id or False for company_id in company_ids]))
        # sudo: the checkpoints hold hashes only; the caller decided who may have them.
        checkpoints = self.sudo().search(domain, order="id")
        data = [
            {
                "id": cp.id,
                "company_id": cp.company_id.id,
                "first_sequence": cp.first_sequence,
                "last_sequence": cp.last_sequence,
                "first_log_id": cp.first_log_id,
                "last_log_id": cp.last_log_id,
                "row_count": cp.row_count,
                "merkle_root": cp.merkle_root,
                "prev_hash": cp.prev_hash,
                "hash": cp.hash,
                "sealed_at": fields.Datetime.to_string(cp.sealed_at),
                "signature": cp.signature or "",
                "key_fingerprint": cp.key_fingerprint or "",
            }
            for cp in checkpoints
        ]
        return json.dumps({"format": "sales_document_audit.checkpoints/1", "checkpoints": data}, indent=1)

    def action_verify_integrity(self):
        """Verify the trail (against the anchors when configured) and show the result."""
        return self.env["sales.document.audit.log"].action_verify_integrity()

    # ------------------------------------------------------------------
    # Signing: the key stays in the server configuration
    # ------------------------------------------------------------------

    @api.model
    def _sd_signing_key(self):
        """The configured Ed25519 private key, or None when signing is not configured."""
        path = settings.signing_key_path()
        if not path:
            return None
        return signing.load_private_key(path, settings.signing_key_password())

    @api.model
    def _sd_public_keys(self):
        """``{fingerprint: public key}`` the verification trusts, or None when no key is configured."""
        keys = [signing.load_public_key(path) for path in settings.public_key_paths()]
        private = self._sd_signing_key()
        if private is not None:
            keys.append(private.public_key())
        return signing.key_map(keys) if keys else None

    @api.model
    def _sd_database(self):
        """Identity of this database in signatures and anchors: its UUID."""
        # sudo: the system parameter is needed whoever seals or verifies.
        return self.env["ir.config_parameter"].sudo().get_param("database.uuid") or self.env.cr.dbname

    @api.model
    def _sd_sign(self, values):
        """``(signature, key fingerprint)`` of checkpoint ``values``; empty without a key."""
        key = self._sd_signing_key()
        if key is None:
            return "", ""
        key_fingerprint = signing.fingerprint(key)
        payload = signing.checkpoint_payload(values, self._sd_database(), key_fingerprint)
        return signing.sign(key, payload), key_fingerprint

    def _sd_payload(self):
        """The signed payload of this checkpoint."""
        self.ensure_one()
        values = {name: self[name] for name in signing.SIGNED_FIELDS if name != "company_id"}
        values["company_id"] = self.company_id.id
        return signing.checkpoint_payload(values, self._sd_database(), self.key_fingerprint)

    # ------------------------------------------------------------------
    # Anchoring: signed checkpoints kept outside the database
    # ------------------------------------------------------------------

    @api.model
    def _sd_anchor_stores(self):
        """The anchor stores signed checkpoints are written to (``lib.anchors`` stores).

        The local directory of ``sales_audit_anchor_dir`` when configured;
        other addons add theirs (``super()`` then append).
        """
        directory = settings.anchor_dir()
        return [anchors.LocalAnchorStore(directory)] if directory else []

    @api.model
    def _sd_anchor_stores_for(self, company_id):
        """The stores holding the anchors of ``company_id`` (a store may serve one company only)."""
        return [
            store for store in self._sd_anchor_stores()
            if getattr(store, "company_id", None) in (None, company_id)
        ]

    @api.model
    def _sd_store_name(self, store):
        return f"{store.kind}:{store.describe()}"

    def _sd_anchor_record(self):
        """The anchor record of this (signed) checkpoint."""
        self.ensure_one()
        self.env.cr.execute(SQL(
            """SELECT hash FROM sales_document_audit_log
                WHERE company_id IS NOT DISTINCT FROM %s AND sequence BETWEEN %s AND %s AND hash IS NOT NULL
                ORDER BY sequence""",
            self.company_id.id or None, self.first_sequence, self.last_sequence,
        ))
        hashes = [row[0] for row in self.env.cr.fetchall()]
        return anchors.make_record(self._sd_payload(), self.signature, chain.leaf_prefixes(hashes),
                                   hashes[-1] if hashes else "")

    @api.model
    def _sd_anchor_pending(self, checkpoint_ids=None):
        """Write the signed checkpoints not yet in each store, oldest first.

        A store that fails keeps its remaining checkpoints for the next run
        (so that it never holds a gap) and raises an alert; nothing is
        raised to the caller. Returns the number of anchors written.
        """
        # Without any signed checkpoint there is nothing to anchor: no store client is built.
        self.env.cr.execute(SQL(
            "SELECT 1 FROM sales_document_audit_checkpoint WHERE signature IS NOT NULL AND signature != '' LIMIT 1"
        ))
        if not self.env.cr.fetchone():
            return 0
        stores = self._sd_anchor_stores()
        if not stores:
            return 0
        written = 0
        for store in stores:
            name = self._sd_store_name(store)
            only = SQL("AND cp.id = ANY(%s)", list(checkpoint_ids)) if checkpoint_ids else SQL()
            if getattr(store, "company_id", None) is not None:
                only = SQL("%s AND cp.company_id = %s", only, store.company_id)
            self.env.cr.execute(SQL(
                """SELECT cp.id FROM sales_document_audit_checkpoint cp
                    WHERE cp.signature IS NOT NULL AND cp.signature != '' %s
                      AND NOT EXISTS (SELECT 1 FROM sales_document_audit_anchor a
                                       WHERE a.checkpoint_id = cp.id AND a.store = %s)
                    ORDER BY cp.company_id, cp.first_sequence""",
                only, name,
            ))
            pending = self.browse([row[0] for row in self.env.cr.fetchall()])
            for checkpoint in pending:
                try:
                    where = store.append(checkpoint._sd_anchor_record())
                except Exception as exc:  # noqa: BLE001 - any failure of a store is reported, never raised
                    _logger.error("Anchoring audit checkpoint %s in %s failed: %s", checkpoint.id, name, exc)
                    self._sd_anchor_failed(checkpoint, name, exc)
                    break
                self.env["sales.document.audit.anchor"]._sd_record(checkpoint, store, name, where)
                written += 1
        return written

    @api.model
    def _sd_anchor_failed(self, checkpoint, name, error):
        self.env["sales.document.audit.alert"]._sd_raise_integrity_alert(
            "anchor_failed", checkpoint.company_id.id,
            _("The audit checkpoint %(checkpoint)s could not be anchored in %(store)s: %(error)s",
              checkpoint=checkpoint.id, store=name, error=error),
        )

    @api.model
    def _sd_anchor_after_commit(self, checkpoint_ids):
        """Anchor ``checkpoint_ids`` once the transaction that sealed them is committed."""
        registry = self.env.registry

        def anchor():
            try:
                with registry.cursor() as cr:
                    env = api.Environment(cr, self.env.uid, {})
                    # sudo: anchoring writes anchor rows no user may write, after the sealing commit.
                    env["sales.document.audit.checkpoint"].sudo()._sd_anchor_pending(checkpoint_ids)
            except Exception:  # noqa: BLE001 - the next sealing run retries
                _logger.exception("Anchoring audit checkpoints after commit failed; the next run retries.")

        self.env.cr.postcommit.add(anchor)
