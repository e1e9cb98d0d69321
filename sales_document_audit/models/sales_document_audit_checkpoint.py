import json

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools import chain


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
        self.env.cr.execute(SQL(
            """
            CREATE OR REPLACE FUNCTION sales_document_audit_refuse() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'sales document audit checkpoints cannot be modified or deleted'
                    USING ERRCODE = 'insufficient_privilege';
            END
            $$;
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
    def _last_for_company(self, company_id):
        self.env.cr.execute(SQL(
            """SELECT id, hash, last_sequence FROM sales_document_audit_checkpoint
                WHERE company_id IS NOT DISTINCT FROM %s ORDER BY last_sequence DESC LIMIT 1""",
            company_id,
        ))
        return self.env.cr.dictfetchone()

    @api.model
    def _read_chain(self, company_id):
        self.env.cr.execute(SQL(
            """SELECT id, company_id, first_sequence, last_sequence, first_log_id, last_log_id, row_count,
                      merkle_root, prev_hash, hash, sealed_at
                 FROM sales_document_audit_checkpoint
                WHERE company_id IS NOT DISTINCT FROM %s ORDER BY first_sequence""",
            company_id,
        ))
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
        self.env.cr.execute(SQL(
            """INSERT INTO sales_document_audit_checkpoint
                   (company_id, first_sequence, last_sequence, first_log_id, last_log_id, row_count,
                    merkle_root, prev_hash, hash, sealed_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
            company_id, values["first_sequence"], values["last_sequence"],
            min(row["id"] for row in rows), max(row["id"] for row in rows), values["row_count"],
            values["merkle_root"], prev_hash, values["hash"], fields.Datetime.now(),
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
            }
            for cp in checkpoints
        ]
        return json.dumps({"format": "sales_document_audit.checkpoints/1", "checkpoints": data}, indent=1)
