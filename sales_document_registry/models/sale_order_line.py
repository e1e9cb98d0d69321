from odoo import api, models


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        lines.order_id._sd_apply_auto_tags()
        return lines

    def write(self, vals):
        res = super().write(vals)
        # A line change can make an auto-tag rule match its order.
        self.order_id._sd_apply_auto_tags()
        return res
