from odoo import models


class AccountMove(models.Model):
    _inherit = "account.move"

    def _sdb_customer_documents(self):
        return self.filtered(lambda m: m.move_type in ("out_invoice", "out_refund"))

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        documents = posted._sdb_customer_documents()
        if documents:
            self.env["sales.document.backup.journal"]._enqueue(documents, "posted")
        return posted

    def _invoice_paid_hook(self):
        result = super()._invoice_paid_hook()
        documents = self._sdb_customer_documents()
        if documents:
            self.env["sales.document.backup.journal"]._enqueue(documents, "paid")
        return result

    def button_cancel(self):
        result = super().button_cancel()
        documents = self._sdb_customer_documents().filtered(lambda m: m.state == "cancel")
        if documents:
            self.env["sales.document.backup.journal"]._enqueue(documents, "cancelled")
        # Odoo returns None, which XML-RPC cannot carry: integrations get True.
        return True if result is None else result
