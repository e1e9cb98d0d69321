from odoo import models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    def write(self, vals):
        archived = self.filtered("active") if vals.get("active") is False else self.browse()
        result = super().write(vals)
        if archived:
            self.env["sales.document.backup.journal"]._enqueue(archived, "archived")
        return result

    def unlink(self):
        # Last snapshot before the order disappears, so it can be restored
        # from the journal. Queued in the same transaction: if the deletion
        # is refused, the snapshot is rolled back with it.
        self.env["sales.document.backup.journal"]._enqueue(self, "deleted")
        return super().unlink()

    def _action_confirm(self):
        result = super()._action_confirm()
        self.env["sales.document.backup.journal"]._enqueue(self, "confirmed")
        return result

    def _action_cancel(self):
        result = super()._action_cancel()
        self.env["sales.document.backup.journal"]._enqueue(self, "cancelled")
        return result
