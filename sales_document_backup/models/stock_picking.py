from odoo import models


class StockPicking(models.Model):
    _inherit = "stock.picking"

    def _action_done(self):
        result = super()._action_done()
        outgoing = self.filtered(lambda p: p.picking_type_code == "outgoing" and p.state == "done")
        if outgoing:
            self.env["sales.document.backup.journal"]._enqueue(outgoing, "validated")
        return result
