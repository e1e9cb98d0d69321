from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .sales_document_mixin import without_auto_tag


class AccountPayment(models.Model):
    _name = "account.payment"
    _inherit = ["account.payment", "sales.document.mixin"]

    _sd_archive_wizard_field = "payment_ids"

    tag_ids = fields.Many2many(
        "crm.tag",
        "account_payment_crm_tag_rel",
        "payment_id",
        "tag_id",
        string="Tags",
    )
    sd_commercial_partner_id = fields.Many2one(
        "res.partner",
        string="Commercial customer",
        related="partner_id.commercial_partner_id",
        store=True,
        index=True,
    )
    sd_sale_order_id = fields.Many2one(
        "sale.order",
        string="Sales order",
        compute="_compute_sd_sale_order_id",
        store=True,
        index="btree_not_null",
        help="The order whose invoices this payment pays (the first one when several).",
    )

    # The order's salesperson and team, stored so that the registry needs no join.
    sd_user_id = fields.Many2one(
        "res.users", string="Salesperson", related="sd_sale_order_id.user_id", store=True,
        index="btree_not_null", tracking=False,
    )
    sd_team_id = fields.Many2one(
        "crm.team", string="Sales Team", related="sd_sale_order_id.team_id", store=True, tracking=False
    )

    @api.depends("invoice_ids.sd_sale_order_id")
    def _compute_sd_sale_order_id(self):
        for payment in self:
            payment.sd_sale_order_id = payment.invoice_ids.sd_sale_order_id.sorted("id")[:1]

    @api.model_create_multi
    def create(self, vals_list):
        payments = super().create(vals_list)
        for payment in payments:
            tags = payment.invoice_ids.tag_ids - payment.tag_ids
            if tags:
                without_auto_tag(payment).tag_ids |= tags
        payments._sd_apply_auto_tags()
        return payments

    def write(self, vals):
        res = super().write(vals)
        self._sd_auto_tag_after_write(vals)
        return res

    def action_post(self):
        self._sd_sales_documents()._sd_check_completeness("pay")
        res = super().action_post()
        self._sd_sales_documents()._sd_mark_stage("confirmed")
        # Odoo answers None, which XML-RPC cannot marshal.
        return True if res is None else res

    def action_cancel(self):
        res = super().action_cancel()
        self._sd_sales_documents()._sd_mark_stage("cancelled")
        # Odoo answers None, which XML-RPC cannot marshal.
        return True if res is None else res

    def action_draft(self):
        res = super().action_draft()
        # Resetting a payment cancelled with a reason restores it.
        self._sd_clear_archive_reason(_("Restored: reset to draft."))
        # Odoo answers None, which XML-RPC cannot marshal.
        return True if res is None else res

    def _sd_sales_documents(self):
        return self.filtered(lambda p: p.payment_type == "inbound" and p.partner_type == "customer")

    def _sd_check_archivable(self):
        not_draft = self.filtered(lambda p: p.state != "draft")
        if not_draft:
            raise UserError(_(
                "Only draft payments are cancelled with a reason: %(payments)s",
                payments=", ".join(not_draft.mapped("display_name")),
            ))

    def _sd_archive(self):
        self.action_cancel()

    def _sd_check_deletable(self):
        kept = self.filtered(lambda p: p.state not in ("draft", "canceled") or p.is_reconciled)
        if kept:
            raise UserError(_(
                "Only draft or cancelled payments that pay nothing can be deleted: %(payments)s",
                payments=", ".join(kept.mapped("display_name")),
            ))

    def _sd_doc_type(self):
        return "payment"

    @api.model
    def _sd_doc_types(self):
        return ["payment"]

    @api.model
    def _sd_type_domain(self, doc_type):
        return [("payment_type", "=", "inbound"), ("partner_type", "=", "customer")]

    @api.model
    def _sd_pending_domain(self, doc_type):
        return [("state", "=", "draft")]
