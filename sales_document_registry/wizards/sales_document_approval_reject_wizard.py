from odoo import fields, models


class SalesDocumentApprovalRejectWizard(models.TransientModel):
    """Asks the reviewer why the quotations are rejected."""

    _name = "sales.document.approval.reject.wizard"
    _description = "Reject Sales Order Approval"

    order_ids = fields.Many2many("sale.order", string="Orders", required=True)
    reason = fields.Text(required=True, help="Shown to the requester in the order's history.")

    def action_reject(self):
        """Reject the approval requests of the orders with the reason given."""
        self.ensure_one()
        self.order_ids.action_reject(self.reason)
        return {"type": "ir.actions.act_window_close"}
