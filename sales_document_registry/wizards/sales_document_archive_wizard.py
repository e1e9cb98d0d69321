from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError


class SalesDocumentArchiveWizard(models.TransientModel):
    """Archive or cancel sales documents with a reason, or, for administrators, delete them.

    Orders are archived (restorable from the Archived filter); draft invoices
    and credit notes, deliveries and draft payments are cancelled (restorable
    with Reset to draft, or for a delivery as a new draft copy). The reason is
    kept on each document. The wizard is the only way a user archives or
    deletes a sales document: it passes its reason to private methods of the
    documents, which no client can call directly.
    """

    _name = "sales.document.archive.wizard"
    _description = "Archive Sales Documents with a Reason"

    order_ids = fields.Many2many("sale.order", string="Orders")
    move_ids = fields.Many2many("account.move", string="Invoices and credit notes")
    picking_ids = fields.Many2many("stock.picking", string="Deliveries")
    payment_ids = fields.Many2many("account.payment", string="Payments")
    reason = fields.Text(required=True)
    mode = fields.Selection(
        [("archive", "Archive or cancel (restorable)"), ("delete", "Delete permanently")],
        default="archive",
        required=True,
    )
    can_delete = fields.Boolean(compute="_compute_can_delete")

    @api.depends_context("uid")
    def _compute_can_delete(self):
        self.can_delete = self.env.user.has_group("base.group_system")

    def _get_documents(self):
        """The chosen documents, one recordset per model."""
        return [records for records in (self.order_ids, self.move_ids, self.picking_ids, self.payment_ids) if records]

    def action_confirm(self):
        """Archive, cancel (or delete) the documents, recording the reason."""
        self.ensure_one()
        reason = (self.reason or "").strip()
        if not reason:
            raise UserError(_("Please give a reason."))
        documents = self._get_documents()
        if not documents:
            raise UserError(_("Choose the documents to archive."))
        if self.mode == "delete":
            if not self.env.user.has_group("base.group_system"):
                raise AccessError(_("Only administrators can delete sales documents permanently."))
            for records in documents:
                records._sd_unlink_with_reason(reason)
        else:
            for records in documents:
                records._sd_archive_with_reason(reason)
        return {"type": "ir.actions.act_window_close"}
