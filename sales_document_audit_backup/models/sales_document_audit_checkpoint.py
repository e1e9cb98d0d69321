import logging

from odoo import api, models

_logger = logging.getLogger(__name__)


class SalesDocumentAuditCheckpoint(models.Model):
    _inherit = "sales.document.audit.checkpoint"

    @api.model
    def _sd_anchor_stores(self):
        """The local anchor directory, plus the S3 backup destinations that keep audit anchors."""
        stores = super()._sd_anchor_stores()
        for destination in self.env["sales.document.backup.destination"]._sd_audit_anchor_destinations():
            try:
                stores.append(destination._sd_audit_anchor_store())
            except Exception as exc:  # noqa: BLE001 - a misconfigured destination must not stop the others
                _logger.error("Audit anchors: destination %s cannot be used: %s", destination.display_name, exc)
        return stores
