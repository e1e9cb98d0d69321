from odoo import models


class AccountPayment(models.Model):
    _name = "account.payment"
    _inherit = ["account.payment", "sales.document.audit.mixin"]

    _audit_default_fields = (
        "name", "state", "partner_id", "amount", "currency_id", "date", "journal_id",
        "payment_method_line_id", "memo", "payment_type", "partner_type", "company_id", "is_reconciled",
        "archive_reason",
    )
    _audit_status_fields = ("state", "is_reconciled", "is_matched")

    def _audit_capture_filter(self):
        return self.filtered(lambda pay: pay.payment_type == "inbound" and pay.partner_type == "customer")

    def _audit_is_document(self):
        self.ensure_one()
        return self.payment_type == "inbound" and self.partner_type == "customer"

    def _audit_is_validated(self, old_values):
        return old_values.get("state") in ("in_process", "paid")
