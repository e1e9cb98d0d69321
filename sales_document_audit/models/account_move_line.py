from odoo import models


class AccountMoveLine(models.Model):
    _name = "account.move.line"
    _inherit = ["account.move.line", "sales.document.audit.mixin"]

    _audit_parent_field = "move_id"
    _audit_default_fields = (
        "product_id", "name", "quantity", "product_uom_id", "price_unit", "discount", "tax_ids",
        "account_id", "price_subtotal", "price_total",
    )

    def _audit_capture_filter(self):
        return self.filtered(lambda line: line.display_type == "product")
