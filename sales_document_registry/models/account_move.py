from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import LazyTranslate

from .sales_document_mixin import without_auto_tag

_lt = LazyTranslate(__name__)

SALE_MOVE_TYPES = ("out_invoice", "out_refund")

# Why a posted invoice with reconciled payments is refused, one whole sentence
# per action (``%(invoices)s``: one line per invoice).
RECONCILED_REFUSALS = {
    "draft": _lt(
        "These invoices cannot be reset to draft while payments are reconciled with them:\n"
        "%(invoices)s\nIssue a credit note instead."
    ),
    "cancel": _lt(
        "These invoices cannot be cancelled while payments are reconciled with them:\n"
        "%(invoices)s\nIssue a credit note instead."
    ),
}


class AccountMove(models.Model):
    _name = "account.move"
    _inherit = ["account.move", "sales.document.mixin"]

    _sd_archive_wizard_field = "move_ids"

    tag_ids = fields.Many2many(
        "crm.tag",
        "account_move_crm_tag_rel",
        "move_id",
        "tag_id",
        string="Tags",
        copy=True,
    )
    sd_sale_order_id = fields.Many2one(
        "sale.order",
        string="Sales order",
        compute="_compute_sd_sale_order_id",
        store=True,
        index="btree_not_null",
        help="The order this invoice or credit note belongs to (the first one when several).",
    )

    # ------------------------------------------------------------------
    # Compute
    # ------------------------------------------------------------------

    @api.depends("invoice_line_ids.sale_line_ids")
    def _compute_sd_sale_order_id(self):
        for move in self:
            orders = move.invoice_line_ids.sale_line_ids.order_id
            move.sd_sale_order_id = orders.sorted("id")[:1] if move.move_type in SALE_MOVE_TYPES else False

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        moves = super().create(vals_list)
        moves._sd_apply_auto_tags()
        return moves

    def write(self, vals):
        res = super().write(vals)
        if "matched_payment_ids" in vals:
            self._sd_sync_payment_tags()
        self._sd_auto_tag_after_write(vals)
        return res

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def _post(self, soft=True):
        sales = self._sd_sales_documents()
        if not soft:
            sales._sd_check_completeness("post")
        else:
            # Soft posting (auto-post of future-dated entries) skips what is not
            # ready yet: only check what will really be posted now.
            today = fields.Date.context_today(self)
            sales.filtered(lambda m: not m.date or m.date <= today)._sd_check_completeness("post")
        posted = super()._post(soft=soft)
        posted_sales = posted & sales
        posted_sales._sd_mark_stage("invoiced")
        # sudo: the invoicing user may not write the order, whose stage trail is system data.
        posted_sales.sd_sale_order_id.sudo()._sd_update_invoiced_paid_stage()
        return posted

    def button_draft(self):
        self._sd_check_no_reconciled_payment("draft")
        res = super().button_draft()
        # Resetting a document cancelled with a reason restores it.
        self._sd_clear_archive_reason(_("Restored: reset to draft."))
        # Odoo answers None, which XML-RPC cannot marshal.
        return True if res is None else res

    def button_cancel(self):
        self._sd_check_no_reconciled_payment("cancel")
        res = super().button_cancel()
        self._sd_sales_documents()._sd_mark_stage("cancelled")
        # Odoo answers None, which XML-RPC cannot marshal.
        return True if res is None else res

    def _invoice_paid_hook(self):
        res = super()._invoice_paid_hook()
        sales = self._sd_sales_documents()
        sales._sd_mark_stage("paid")
        sales._get_reconciled_payments().filtered(lambda p: not p.stage_paid_date)._sd_mark_stage("paid")
        # sudo: the accountant registering the payment may not write the order, whose stage trail is system data.
        (sales.invoice_line_ids.sale_line_ids.order_id).sudo()._sd_update_invoiced_paid_stage()
        return res

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    def _sd_sales_documents(self):
        return self.filtered(lambda m: m.move_type in SALE_MOVE_TYPES)

    def _sd_doc_type(self):
        return "credit_note" if self.move_type == "out_refund" else "invoice"

    @api.model
    def _sd_doc_types(self):
        return ["invoice", "credit_note"]

    @api.model
    def _sd_type_domain(self, doc_type):
        return [("move_type", "=", "out_refund" if doc_type == "credit_note" else "out_invoice")]

    @api.model
    def _sd_pending_domain(self, doc_type):
        return [("state", "=", "draft")]

    def _sd_check_archivable(self):
        not_draft = self.filtered(lambda m: m.state != "draft")
        if not_draft:
            raise UserError(_(
                "Only draft invoices and credit notes are cancelled with a reason; posted ones are "
                "reversed with a credit note: %(documents)s",
                documents=", ".join(not_draft.mapped("display_name")),
            ))

    def _sd_archive(self):
        self.button_cancel()

    def _sd_check_deletable(self):
        posted = self.filtered(lambda m: m.state == "posted")
        if posted:
            raise UserError(_(
                "Posted invoices and credit notes are never deleted; reverse them with a credit note: "
                "%(documents)s",
                documents=", ".join(posted.mapped("display_name")),
            ))

    def _sd_check_no_reconciled_payment(self, action):
        """Refuse ``action`` ("draft" or "cancel") on posted sales documents with reconciled payments."""
        problems = []
        for move in self._sd_sales_documents().filtered(lambda m: m.state == "posted"):
            payments = move._get_reconciled_payments()
            if payments:
                problems.append(_(
                    "%(invoice)s is paid by %(payments)s",
                    invoice=move.name, payments=", ".join(payments.mapped("name")),
                ))
        if problems:
            invoices = "\n".join(f"- {problem}" for problem in problems)
            raise UserError(self.env._(RECONCILED_REFUSALS[action]) % {"invoices": invoices})

    def _sd_sync_payment_tags(self):
        for move in self._sd_sales_documents():
            missing = move.tag_ids - move.matched_payment_ids.tag_ids
            if missing:
                without_auto_tag(move.matched_payment_ids).write(
                    {"tag_ids": [(4, tag.id) for tag in move.tag_ids]}
                )
