from odoo import models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    def _action_confirm(self):
        result = super()._action_confirm()
        self.env["sales.document.backup.journal"]._enqueue(self, "confirmed")
        return result

    def _action_cancel(self):
        result = super()._action_cancel()
        self.env["sales.document.backup.journal"]._enqueue(self, "cancelled")
        return result
