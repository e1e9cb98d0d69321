from odoo import models


class StockPicking(models.Model):
    _name = "stock.picking"
    _inherit = ["stock.picking", "sales.document.audit.mixin"]

    _audit_default_fields = (
        "name", "state", "partner_id", "picking_type_id", "location_id", "location_dest_id",
        "scheduled_date", "date_deadline", "date_done", "origin", "carrier_id", "carrier_tracking_ref",
        "user_id", "company_id", "archive_reason",
    )
    _audit_status_fields = ("state", "date_done")

    def _audit_is_document(self):
        self.ensure_one()
        return bool(self.sale_id)

    def _audit_is_validated(self, old_values):
        return old_values.get("state") == "done"

    def _audit_document_name(self):
        # Its display name is its stored name (but for display-only contexts):
        # no display name computation on the commit path.
        self.ensure_one()
        return self.name
