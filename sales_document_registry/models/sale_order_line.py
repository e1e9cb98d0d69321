from odoo import api, models


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        if not self.env.context.get("sd_skip_auto_tag"):
            self.env["sales.document.tag.rule"]._apply(lines.order_id)
        return lines

    def write(self, vals):
        res = super().write(vals)
        # A line change can make an auto-tag rule match its order.
        if not self.env.context.get("sd_skip_auto_tag"):
            self.env["sales.document.tag.rule"]._apply(self.order_id)
        return res
