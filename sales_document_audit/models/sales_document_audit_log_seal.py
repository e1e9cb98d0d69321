from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..tools import chain
from .sales_document_audit_log import SEAL_BATCH


class SalesDocumentAuditLogSeal(models.Model):
    """Sealing, verification and retention of the hash-chained trail."""

    _inherit = "sales.document.audit.log"

    # ------------------------------------------------------------------
    # Sealing: hash chain and Merkle checkpoints
    # ------------------------------------------------------------------

    @api.model
    def _cron_seal(self):
        """Scheduled job: chain and seal every unsealed row, per company."""
        self.env.cr.execute(SQL(
            "SELECT DISTINCT company_id FROM sales_document_audit_log WHERE hash IS NULL"
        ))
        checkpoints = self.env["sales.document.audit.checkpoint"]
        for (company_id,) in self.env.cr.fetchall():
            checkpoints |= self._seal_company(company_id)
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
            cr.execute(SQL(
                """SELECT id, company_id, res_model, res_id, res_name, operation, user_id, timestamp,
                          changes, ip_address, user_agent, device
                     FROM sales_document_audit_log
                    WHERE company_id IS NOT DISTINCT FROM %s AND hash IS NULL
                    ORDER BY id LIMIT %s""",
                company_id, SEAL_BATCH,
            ))
            rows = cr.dictfetchall()
            if not rows:
                return created
            last = Checkpoint._last_for_company(company_id)
            cr.execute(SQL(
                """SELECT hash, sequence FROM sales_document_audit_log
                    WHERE company_id IS NOT DISTINCT FROM %s AND hash IS NOT NULL
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

        :return: ``{'ok': bool, 'checked': int, 'first_broken_id': int or False}``
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
    def _verify_integrity(self, company_ids=None):
        """``verify_integrity`` for server code: no rights check (``None``: every company)."""
        cr = self.env.cr
        if company_ids is None:
            cr.execute(SQL(
                """SELECT DISTINCT company_id FROM sales_document_audit_log WHERE hash IS NOT NULL
                   UNION SELECT DISTINCT company_id FROM sales_document_audit_checkpoint"""
            ))
            company_ids = [row[0] for row in cr.fetchall()]
        checked = 0
        broken = []
        for company in sorted(company_ids, key=lambda company: company or 0):
            count, first_broken = self._verify_company(company)
            checked += count
            if first_broken:
                broken.append(first_broken)
        first_broken_id = min(broken) if broken else False
        return {"ok": not broken, "checked": checked, "first_broken_id": first_broken_id}

    @api.model
    def _verify_company(self, company_id):
        cr = self.env.cr
        checkpoints = self.env["sales.document.audit.checkpoint"]._read_chain(company_id)
        prev_hash = ""
        prev_checkpoint_hash = ""
        expected_sequence = 1
        checked = 0
        for checkpoint in checkpoints:
            cr.execute(SQL(
                """SELECT id, company_id, sequence, res_model, res_id, res_name, operation, user_id,
                          timestamp, changes, ip_address, user_agent, device, prev_hash, hash, checkpoint_id
                     FROM sales_document_audit_log
                    WHERE company_id IS NOT DISTINCT FROM %s AND sequence BETWEEN %s AND %s
                    ORDER BY sequence""",
                company_id, checkpoint["first_sequence"], checkpoint["last_sequence"],
            ))
            rows = cr.dictfetchall()
            leaves = []
            for row in rows:
                checked += 1
                if (
                    row["sequence"] != expected_sequence
                    or (row["prev_hash"] or "") != prev_hash
                    or chain.row_hash(prev_hash, row) != row["hash"]
                    or row["checkpoint_id"] != checkpoint["id"]
                ):
                    return checked, row["id"]
                leaves.append(row["hash"])
                prev_hash = row["hash"]
                expected_sequence += 1
            if (
                len(rows) != checkpoint["row_count"]
                or expected_sequence != checkpoint["last_sequence"] + 1
                or chain.merkle_root(leaves) != checkpoint["merkle_root"]
                or (checkpoint["prev_hash"] or "") != prev_checkpoint_hash
                or chain.checkpoint_hash(prev_checkpoint_hash, checkpoint) != checkpoint["hash"]
            ):
                return checked, checkpoint["last_log_id"]
            prev_checkpoint_hash = checkpoint["hash"]
        # Sealed rows outside every checkpoint were sealed by something else.
        cr.execute(SQL(
            """SELECT min(id) FROM sales_document_audit_log
                WHERE company_id IS NOT DISTINCT FROM %s AND hash IS NOT NULL AND sequence >= %s""",
            company_id, expected_sequence,
        ))
        stray = cr.fetchone()[0]
        return checked, stray or False

    # ------------------------------------------------------------------
    # Retention: archive sealed ranges, never delete
    # ------------------------------------------------------------------

    @api.model
    def _cron_archive(self):
        """Archive sealed rows older than each company's retention period."""
        archived = 0
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
