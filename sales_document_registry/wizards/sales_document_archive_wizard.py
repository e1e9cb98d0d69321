from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError


class SalesDocumentArchiveWizard(models.TransientModel):
    """Archive draft orders with a reason, or, for administrators, delete them."""

    _name = "sales.document.archive.wizard"
    _description = "Archive Sales Orders with a Reason"

    order_ids = fields.Many2many("sale.order", string="Orders", required=True)
    reason = fields.Text(required=True)
    mode = fields.Selection(
        [("archive", "Archive (restorable)"), ("delete", "Delete permanently")],
        default="archive",
        required=True,
    )
    can_delete = fields.Boolean(compute="_compute_can_delete")

    @api.depends_context("uid")
    def _compute_can_delete(self):
        self.can_delete = self.env.user.has_group("base.group_system")

    def action_confirm(self):
        """Archive (or delete) the orders, recording the reason."""
        self.ensure_one()
        reason = (self.reason or "").strip()
        if not reason:
            raise UserError(_("Please give a reason."))
        orders = self.order_ids
        if self.mode == "delete":
            if not self.env.user.has_group("base.group_system"):
                raise AccessError(_("Only administrators can delete sales orders permanently."))
            orders.with_context(sales_document_delete_reason=reason).unlink()
            return {"type": "ir.actions.act_window_close"}
        not_draft = orders.filtered(lambda o: o.state not in ("draft", "sent", "cancel"))
        if not_draft:
            raise UserError(_(
                "Only quotations and cancelled orders can be archived; cancel these first: %(orders)s",
                orders=", ".join(not_draft.mapped("name")),
            ))
        orders._sd_check_nothing_downstream(_("archived"))
        for order in orders:
            order.message_post(body=_("Archived. Reason: %(reason)s", reason=reason))
        orders.with_context(sales_document_archive_reason=reason).write({"archive_reason": reason})
        orders.with_context(sales_document_archive_reason=reason).action_archive()
        return {"type": "ir.actions.act_window_close"}
