import logging

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from .. import settings
from ..lib import anchors, chain, trail, verifier
from .sales_document_audit_log import SEAL_BATCH

_logger = logging.getLogger(__name__)


class SalesDocumentAuditLogSeal(models.Model):
    """Sealing, verification and retention of the hash-chained trail."""

    _inherit = "sales.document.audit.log"

    # ------------------------------------------------------------------
    # Sealing: hash chain and Merkle checkpoints
    # ------------------------------------------------------------------

    @api.model
    def _cron_seal(self):
        """Scheduled job: chain and seal every unsealed row, per company, then anchor.

        Checkpoints an earlier run could not anchor are anchored first; the
        new ones once this transaction is committed, outside it, so that a
        slow or failing anchor store never holds the sealing back.
        """
        Checkpoint = self.env["sales.document.audit.checkpoint"]
        Checkpoint._sd_anchor_pending()
        self.env.cr.execute(SQL(
            "SELECT DISTINCT company_id FROM sales_document_audit_log WHERE hash IS NULL"
        ))
        checkpoints = Checkpoint
        for (company_id,) in self.env.cr.fetchall():
            checkpoints |= self._seal_company(company_id)
        if checkpoints:
            Checkpoint._sd_anchor_after_commit(checkpoints.ids)
        return checkpoints

    @api.model
    def _seal_company(self, company_id):
        """Seal the unsealed rows of one company into checkpoints."""
        cr = self.env.cr
        Checkpoint = self.env["sales.document.audit.checkpoint"]
        # One sealer per company at a time; the write path never takes it.
        cr.execute(SQL("SELECT pg_advisory_xact_lock(%s, %s)", 0x5DA0D17, company_id or 0))
        created = Checkpoint.browse()
        while True:
            cr.execute(SQL(trail.UNSEALED_QUERY, company_id, SEAL_BATCH))
            rows = cr.dictfetchall()
            if not rows:
                return created
            last = Checkpoint._last_for_company(company_id)
            if not last:
                self._sd_check_new_chain(company_id)
            cr.execute(SQL(
                """SELECT hash, sequence FROM sales_document_audit_log
                    WHERE company_id IS NOT DISTINCT FROM %s AND hash IS NOT NULL AND sequence IS NOT NULL
                    ORDER BY sequence DESC LIMIT 1""",
                company_id,
            ))
            previous = cr.fetchone() or ("", 0)
            prev_hash, sequence = previous[0], previous[1]
            updates = []
            for row in rows:
                sequence += 1
                row["sequence"] = sequence
                digest = chain.row_hash(prev_hash, row)
                updates.append((row["id"], sequence, prev_hash, digest))
                prev_hash = digest
            checkpoint = Checkpoint._create_sealed(company_id, rows, [u[3] for u in updates], last)
            values = SQL(", ").join(SQL("(%s, %s, %s, %s)", *update) for update in updates)
            cr.execute(SQL(
                """UPDATE sales_document_audit_log AS log
                      SET sequence = v.seq, prev_hash = v.prev, hash = v.digest, checkpoint_id = %s
                     FROM (VALUES %s) AS v(id, seq, prev, digest)
                    WHERE log.id = v.id""",
                checkpoint.id, values,
            ))
            created |= checkpoint

    # ------------------------------------------------------------------
    # Verification
    # ------------------------------------------------------------------

    @api.model
    def verify_integrity(self, company_id=None):
        """Re-compute the hash chain and the checkpoints.

        For auditors, security officers and administrators, over the
        companies they belong to (all of them, or ``company_id``).

        :return: ``{'ok': bool, 'checked': int, 'first_broken_id': int or False,
            'reason': str or False, 'message': str, 'first_broken_sequence': ..., 'company_id': ...}``;
            ``reason`` is a code of ``lib.verifier.REASONS``.
        """
        company_ids = self._check_trail_verifier(company_id)
        return self.sudo()._verify_integrity(company_ids)  # sudo: the check above decided who may

    @api.model
    def _check_trail_verifier(self, company_id=None):
        """Refuse users who may not verify the trail; the companies they may verify.

        :return: a list of company ids (``None`` stands for rows without a
            company), or ``None`` for every company (the superuser).
        :raise AccessError: for anyone but auditors, security officers and
            administrators, or for a company the user does not belong to.
        """
        if company_id is not None and not isinstance(company_id, int):
            raise UserError(_("The company must be given by its id."))
        if self.env.su:
            return [company_id] if company_id else None
        user = self.env.user
        if not (user.has_group("sales_document_audit.group_auditor") or user.has_group("base.group_system")):
            raise AccessError(_(
                "Only auditors, security officers and administrators can verify the audit trail "
                "or export its checkpoints."
            ))
        allowed = user.company_ids.ids
        if company_id:
            if company_id not in allowed:
                raise AccessError(_("You can only verify the audit trail of your own companies."))
            return [company_id]
        return [*allowed, None]

    @api.model
    def _sd_check_new_chain(self, company_id):
        """Say loudly when a company's chain starts while the anchors hold an earlier one
        (the addon was reinstalled, or the trail was dropped)."""
        Checkpoint = self.env["sales.document.audit.checkpoint"]
        database = Checkpoint._sd_database()
        try:
            earlier = anchors.read_all(Checkpoint._sd_anchor_stores_for(company_id), database, company_id)
        except anchors.AnchorError as exc:
            _logger.error("Cannot read the audit anchors of company %s: %s", company_id, exc)
            return
        if not earlier:
            return
        last = max(earlier, key=lambda record: record["payload"].get("last_sequence") or 0)["payload"]
        message = _(
            "The audit trail of company %(company)s starts a new chain although the anchors hold an earlier "
            "one up to sequence %(sequence)s (checkpoint hash %(hash)s, sealed on %(sealed)s). Entries of the "
            "earlier chain are no longer in this database.",
            company=company_id, sequence=last.get("last_sequence"), hash=last.get("hash"), sealed=last.get("sealed_at"),
        )
        _logger.error(message)
        self.env["sales.document.audit.alert"]._sd_raise_integrity_alert("chain_restarted", company_id, message)

    @api.model
    def _verify_integrity(self, company_ids=None):
        """``verify_integrity`` for server code: no rights check (``None``: every company).

        Checks the chain, the checkpoints and their signatures, and compares
        them with the anchors whenever anchor stores are configured.
        """
        cr = self.env.cr
        if company_ids is None:
            cr.execute(SQL(trail.COMPANIES_QUERY))
            company_ids = [row[0] for row in cr.fetchall()]
        results = [
            dict(self._verify_company(company), company_id=company)
            for company in sorted(company_ids, key=lambda company: company or 0)
        ]
        first, summary = verifier.combine(results)
        return dict(
            summary,
            message=self._sd_reason_text(first) if first else "",
            anchored=sum(result["anchored"] for result in results),
            unanchored=sum(result["unanchored"] for result in results),
            anchors_checked=any(result["anchors_checked"] for result in results),
        )

    @api.model
    def _verify_company(self, company_id):
        """The ``lib.verifier`` result of one company (database, signatures, anchors)."""
        cr = self.env.cr
        Checkpoint = self.env["sales.document.audit.checkpoint"]
        database = Checkpoint._sd_database()
        checkpoints = Checkpoint._read_chain(company_id)

        def rows_for(first, last):
            cr.execute(SQL(trail.ROWS_QUERY, company_id, first, last))
            return cr.dictfetchall()

        def stray_row(sequence):
            cr.execute(SQL(trail.STRAY_QUERY, company_id, sequence))
            return cr.fetchone()[0]

        stores = Checkpoint._sd_anchor_stores_for(company_id)
        records = None
        if stores:
            try:
                records = anchors.read_all(stores, database, company_id)
            except anchors.AnchorError as exc:
                # Unreadable anchors prove nothing: verify as if there were none (gaps, tails show).
                _logger.error("Cannot read the audit anchors of company %s: %s", company_id, exc)
                records = []
        result = verifier.verify_company(
            checkpoints, rows_for, stray_row, anchors=records, public_keys=Checkpoint._sd_public_keys(),
            database=database, now=fields.Datetime.now(), grace_seconds=settings.anchor_grace(),
        )
        result.pop("issues", None)
        return result

    @api.model
    def _sd_reason_labels(self):
        return {
            "row_rewritten": _("An entry was changed after it was sealed."),
            "row_removed": _("Entries were removed from the chain."),
            "tail_removed": _("The newest entries were removed: the anchors hold entries the database no longer has."),
            "chain_restarted": _("The chain was restarted: it does not begin with the anchored one."),
            "chain_forked": _("The anchors hold two different checkpoints for the same range (forked chain)."),
            "bad_signature": _("A checkpoint signature is invalid or was made with an unknown key."),
            "signature_missing": _("A checkpoint sealed after signing began carries no signature."),
            "checkpoint_mismatch": _("A checkpoint differs from its anchored copy."),
            "anchor_gap": _("A checkpoint was never anchored although later ones were."),
            "not_anchored": _("A checkpoint is still not anchored after the grace period."),
            "stray_rows": _("Sealed entries lie outside every checkpoint."),
        }

    @api.model
    def _sd_reason_text(self, result):
        """Translated explanation of a broken result."""
        return self._sd_reason_labels().get(result["reason"]) or verifier.REASONS.get(result["reason"], "")

    # ------------------------------------------------------------------
    # Retention: archive sealed ranges, never delete
    # ------------------------------------------------------------------

    @api.model
    def _cron_archive(self):
        """Archive sealed rows older than each company's retention period."""
        archived = 0
        # sudo: the job archives for every company, whoever runs it.
        for company in self.env["res.company"].sudo().search([("audit_retention_days", ">", 0)]):
            cutoff = fields.Datetime.subtract(fields.Datetime.now(), days=company.audit_retention_days)
            self.env.cr.execute(SQL(
                """UPDATE sales_document_audit_log SET active = FALSE
                    WHERE company_id = %s AND active AND hash IS NOT NULL AND timestamp < %s""",
                company.id, cutoff,
            ))
            archived += self.env.cr.rowcount
        self.invalidate_model(["active"])
        return archived
