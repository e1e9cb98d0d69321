from odoo import api, fields, models

from odoo.addons.sales_document_audit.lib import anchors
from odoo.addons.sales_document_backup import settings as backup_settings


class SalesDocumentBackupDestination(models.Model):
    """S3 destinations also keep the signed audit checkpoints of their company."""

    _inherit = "sales.document.backup.destination"

    audit_anchor = fields.Boolean(
        string="Audit anchors",
        default=True,
        help="Write each signed audit checkpoint of the company to this S3 destination as it is sealed, "
        "so that the audit trail can be verified against a copy outside the database.",
    )
    audit_anchor_lock_mode = fields.Selection(
        [("COMPLIANCE", "Compliance"), ("GOVERNANCE", "Governance"), ("none", "No retention")],
        string="Anchor retention mode",
        default="COMPLIANCE",
        required=True,
        help="Object Lock mode of the anchors, used when the bucket has Object Lock enabled. Compliance: "
        "nobody, the bucket owner included, can delete or overwrite an anchor before its retention ends. "
        "Governance: only users with the bypass permission can.",
    )
    audit_anchor_retain_days = fields.Integer(
        string="Anchor retention (days)", default=3650,
        help="How long each anchor is locked when the bucket has Object Lock enabled.",
    )

    @api.model
    def _sd_audit_anchor_destinations(self):
        """Active S3 destinations that keep audit anchors, every company."""
        # sudo: the sealing job reads every company's destinations, whoever runs it.
        return self.sudo().search([("kind", "=", "s3"), ("audit_anchor", "=", True)])

    def _sd_audit_anchor_store(self):
        """The ``lib.anchors`` store of this destination, for its company only."""
        self.ensure_one()
        mode = None if self.audit_anchor_lock_mode == "none" else self.audit_anchor_lock_mode
        backend = anchors.S3AnchorBackend(
            self.bucket,
            endpoint_url=self.endpoint_url or None,
            credentials=backup_settings.s3_credentials(self.company_id.id, self.code),
            lock_mode=mode,
            retain_days=self.audit_anchor_retain_days,
        )
        store = anchors.ObjectAnchorStore(backend, self.prefix)
        store.company_id = self.company_id.id
        return store
