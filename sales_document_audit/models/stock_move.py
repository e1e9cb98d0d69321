from odoo import models


class StockMove(models.Model):
    _name = "stock.move"
    _inherit = ["stock.move", "sales.document.audit.mixin"]

    _audit_parent_field = "picking_id"
    _audit_default_fields = (
        "product_id", "product_uom_qty", "quantity", "product_uom", "state", "location_id",
        "location_dest_id", "picked",
    )
