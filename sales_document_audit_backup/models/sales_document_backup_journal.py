import json

from odoo import api, models

# Kept from the time the backup addon sent the checkpoints itself: databases
# that already sent some continue where they stopped.
CHECKPOINT_SENT_PARAM = "sales_document_backup.audit_checkpoint_sent_%s"
CHECKPOINT_MEMBER = "audit_checkpoints.json"


class SalesDocumentBackupJournal(models.Model):
    _inherit = "sales.document.backup.journal"

    @api.model
    def _get_batch_extras(self, company):
        """Add the audit checkpoints sealed since the company's last journal batch."""
        extras = super()._get_batch_extras(company)
        exported = self._get_new_audit_checkpoints(company)
        if exported:
            extras[CHECKPOINT_MEMBER] = exported
        return extras

    @api.model
    def _batch_extras_sent(self, company, extras):
        """Remember the last checkpoint stored, so that the next batch starts after it."""
        result = super()._batch_extras_sent(company, extras)
        exported = extras.get(CHECKPOINT_MEMBER)
        if exported:
            last = max(checkpoint["id"] for checkpoint in exported["checkpoints"])
            # sudo: a system parameter; the batch is sent by the cron or by any user whose action queued it.
            self.env["ir.config_parameter"].sudo().set_param(CHECKPOINT_SENT_PARAM % company.id, last)
        return result

    @api.model
    def _get_new_audit_checkpoints(self, company):
        """The export (dict) of the company's checkpoints not yet sent, or None."""
        # sudo: a system parameter, read for server-side bookkeeping only.
        after = int(self.env["ir.config_parameter"].sudo().get_param(CHECKPOINT_SENT_PARAM % company.id, 0))
        exported = json.loads(
            self.env["sales.document.audit.checkpoint"]._export_checkpoints([company.id], after_id=after)
        )
        return exported if exported.get("checkpoints") else None
