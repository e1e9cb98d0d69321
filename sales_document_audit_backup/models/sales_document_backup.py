import json

from odoo import models


class SalesDocumentBackup(models.Model):
    _inherit = "sales.document.backup"

    def _prepare_manifest_extra(self):
        """Add the latest sealed audit checkpoint of every company.

        A restored audit trail can then be checked against hashes kept
        outside the database it came from.
        """
        extra = super()._prepare_manifest_extra()
        checkpoint = self._get_audit_checkpoint()
        if checkpoint:
            extra["audit_checkpoint"] = checkpoint
        return extra

    def _get_audit_checkpoint(self):
        """``{"format", "latest": {company id: checkpoint}}``, or None before the first seal."""
        # Server side: whoever starts a backup, every company's checkpoints go in
        # its manifest (the database dump holds every company anyway).
        exported = json.loads(self.env["sales.document.audit.checkpoint"]._export_checkpoints())
        latest = {}
        for checkpoint in exported.get("checkpoints", []):
            latest[str(checkpoint["company_id"])] = checkpoint
        return {"format": exported.get("format"), "latest": latest} if latest else None
