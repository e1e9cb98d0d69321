from odoo import models


class SaleOrder(models.Model):
    _name = "sale.order"
    _inherit = ["sale.order", "sales.document.audit.mixin"]

    _audit_default_fields = (
        "name", "state", "partner_id", "partner_invoice_id", "partner_shipping_id", "user_id", "team_id",
        "date_order", "validity_date", "commitment_date", "pricelist_id", "payment_term_id",
        "currency_id", "amount_untaxed", "amount_tax", "amount_total", "client_order_ref", "locked",
        "carrier_id", "preferred_payment_method_line_id", "company_id", "tag_ids", "note", "active",
        "archive_reason",
    )
    _audit_status_fields = ("state", "locked", "invoice_status", "amount_untaxed", "amount_tax", "amount_total")

    def _audit_is_validated(self, old_values):
        return old_values.get("state") == "sale"

    def _audit_document_name(self):
        # Its display name is its stored name (but for display-only contexts):
        # no display name computation on the commit path.
        self.ensure_one()
        return self.name
