from odoo import models


class AccountPayment(models.Model):
    _inherit = "account.payment"

    def _sdb_customer_payments(self):
        return self.filtered(lambda p: p.payment_type == "inbound" and p.partner_type == "customer")

    def action_post(self):
        result = super().action_post()
        payments = self._sdb_customer_payments()
        if payments:
            self.env["sales.document.backup.journal"]._enqueue(payments, "posted")
        # Odoo returns None, which XML-RPC cannot carry: integrations get True.
        return True if result is None else result

    def action_cancel(self):
        result = super().action_cancel()
        payments = self._sdb_customer_payments()
        if payments:
            self.env["sales.document.backup.journal"]._enqueue(payments, "cancelled")
        # Odoo returns None, which XML-RPC cannot carry: integrations get True.
        return True if result is None else result
