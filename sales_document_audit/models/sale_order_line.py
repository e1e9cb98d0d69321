from odoo import models


class SaleOrderLine(models.Model):
    _name = "sale.order.line"
    _inherit = ["sale.order.line", "sales.document.audit.mixin"]

    _audit_parent_field = "order_id"
    _audit_default_fields = (
        "product_id", "name", "product_uom_qty", "product_uom", "price_unit", "discount", "tax_id",
        "price_subtotal", "price_total",
    )
