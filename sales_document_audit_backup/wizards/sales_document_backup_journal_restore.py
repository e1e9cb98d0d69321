from odoo import api, models


class SalesDocumentBackupJournalRestore(models.TransientModel):
    _inherit = "sales.document.backup.journal.restore"

    @api.model
    def _annotate_restore(self, record, annotation):
        """Put the restore in the document's audit row (``restored_from``)."""
        result = super()._annotate_restore(record, annotation)
        record._sd_audit_annotate(annotation)
        return result
