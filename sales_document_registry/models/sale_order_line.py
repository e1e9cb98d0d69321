from odoo import api, models

from .sales_document_mixin import auto_tag_skipped


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        if not auto_tag_skipped(self.env):
            self.env["sales.document.tag.rule"]._apply(lines.order_id)
        return lines

    def write(self, vals):
        res = super().write(vals)
        # A line change can make an auto-tag rule match its order.
        if not auto_tag_skipped(self.env):
            self.env["sales.document.tag.rule"]._apply(self.order_id)
        return res
