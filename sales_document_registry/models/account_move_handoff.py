from datetime import timedelta

from odoo import _, models

from .sales_document_stage_handoff import HANDOFF_ACTIVITY_TYPES


class AccountMove(models.Model):
    """Payment follow-up of posted customer invoices, due when the invoice falls due."""

    _inherit = "account.move"

    def _sd_mark_stage(self, stage):
        res = super()._sd_mark_stage(stage)
        if stage == "invoiced":
            self._sd_handoff_payment_followup()
        elif stage in ("paid", "cancelled"):
            self._sd_close_payment_followup(_("Paid") if stage == "paid" else _("Cancelled"))
        return res

    def _sd_handoff_payment_followup(self):
        Handoff = self.env["sales.document.stage.handoff"]
        activity_type = self.env.ref(HANDOFF_ACTIVITY_TYPES["payment"], raise_if_not_found=False)
        if not activity_type:
            return
        for move in self.filtered(lambda m: m.move_type == "out_invoice" and m.payment_state == "not_paid"):
            order = move.sd_sale_order_id
            team = order.team_id or move.team_id
            warehouse = order.warehouse_id
            user = Handoff._get_responsible("payment", move.company_id, team, warehouse)
            if not user:
                continue
            delay = Handoff._get_delay("payment", move.company_id, team, warehouse)
            due = (move.invoice_date_due or move.invoice_date or move.date) + timedelta(days=delay)
            # sudo: whoever posts the invoice hands the follow-up over.
            move.sudo().activity_schedule(
                activity_type_id=activity_type.id,
                user_id=user.id,
                date_deadline=due,
                note=_("Follow up the payment of %(invoice)s, due on %(date)s.",
                       invoice=move.name, date=move.invoice_date_due),
            )

    def _sd_close_payment_followup(self, feedback):
        activity_type = self.env.ref(HANDOFF_ACTIVITY_TYPES["payment"], raise_if_not_found=False)
        if not activity_type:
            return
        # sudo: the follow-up is closed whoever it was assigned to.
        activities = self.sudo().activity_ids.filtered(lambda a: a.activity_type_id == activity_type)
        if activities:
            activities.action_feedback(feedback=feedback)
