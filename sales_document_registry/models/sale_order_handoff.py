from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .sales_document_stage_handoff import HANDOFF_ACTIVITY_TYPES

# Activities that hand a sales document over from one stage to the next.
STAGE_ACTIVITY_TYPES = [
    "sales_document_registry.mail_activity_type_sale_approval",
    *HANDOFF_ACTIVITY_TYPES.values(),
]


class SaleOrder(models.Model):
    """Hand-offs between the people responsible for each stage of an order.

    Confirmed (after approval) → the warehouse prepares the delivery;
    delivered → billing issues the invoice. The payment follow-up is handed
    over on the invoice (see ``account.move``).
    """

    _inherit = "sale.order"

    sd_handoff_overdue = fields.Boolean(
        string="Overdue stage",
        compute="_compute_sd_handoff_overdue",
        search="_search_sd_handoff_overdue",
        help="A hand-off of the order (approval, delivery, invoicing or payment follow-up) is past due.",
    )

    # ------------------------------------------------------------------
    # Compute / search
    # ------------------------------------------------------------------

    def _compute_sd_handoff_overdue(self):
        overdue = set(self._sd_overdue_order_ids(self.ids))
        for order in self:
            order.sd_handoff_overdue = order.id in overdue

    def _search_sd_handoff_overdue(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(_("Unsupported search on the Overdue stage filter."))
        ids = self._sd_overdue_order_ids()
        return [("id", "in" if (operator == "=") == value else "not in", ids)]

    @api.model
    def _sd_overdue_order_ids(self, order_ids=None):
        types = [
            activity_type.id
            for xmlid in STAGE_ACTIVITY_TYPES
            if (activity_type := self.env.ref(xmlid, raise_if_not_found=False))
        ]
        # sudo: overdue hand-offs are read for every order, whoever holds the activity.
        activities = self.env["mail.activity"].sudo().search([
            ("activity_type_id", "in", types),
            ("date_deadline", "<", fields.Date.context_today(self)),
            ("res_model", "in", ("sale.order", "stock.picking", "account.move")),
        ])
        ids = set()
        by_model = {}
        for activity in activities:
            by_model.setdefault(activity.res_model, []).append(activity.res_id)
        ids.update(by_model.get("sale.order", []))
        if by_model.get("stock.picking"):
            # sudo: the order of an overdue delivery counts even where the user cannot read the delivery.
            ids.update(self.env["stock.picking"].sudo().browse(by_model["stock.picking"]).exists().sale_id.ids)
        if by_model.get("account.move"):
            ids.update(
                # sudo: the order of an overdue invoice counts even where the user cannot read the invoice.
                self.env["account.move"].sudo().browse(by_model["account.move"]).exists().sd_sale_order_id.ids
            )
        if order_ids is not None:
            ids &= set(order_ids)
        return list(ids)

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    def _sd_handoff_responsible(self, stage):
        """Who takes the order over at ``stage`` (an empty recordset when nobody is configured)."""
        self.ensure_one()
        return self.env["sales.document.stage.handoff"]._get_responsible(
            stage, self.company_id, self.team_id, self.warehouse_id
        )

    def _sd_mark_stage(self, stage):
        res = super()._sd_mark_stage(stage)
        if stage == "confirmed":
            self._sd_handoff_to_warehouse()
        elif stage == "delivered":
            self._sd_handoff_to_invoicing()
        elif stage == "invoiced":
            self._sd_close_handoff("invoicing", _("Invoiced"))
        return res

    def _sd_handoff_to_warehouse(self):
        Handoff = self.env["sales.document.stage.handoff"]
        activity_type = self.env.ref(HANDOFF_ACTIVITY_TYPES["warehouse"], raise_if_not_found=False)
        if not activity_type:
            return
        for order in self:
            pickings = order.picking_ids.filtered(
                lambda p: p.picking_type_code == "outgoing" and p.state not in ("done", "cancel")
            )
            if not pickings:
                continue
            user = order._sd_handoff_responsible("warehouse")
            if not user:
                continue
            delay = Handoff._get_delay("warehouse", order.company_id, order.team_id, order.warehouse_id)
            for picking in pickings:
                # sudo: the salesperson confirming the order hands over to the warehouse.
                # The activity shows in the assignee's activities; no e-mail per delivery.
                picking.sudo().with_context(mail_activity_quick_update=True).activity_schedule(
                    activity_type_id=activity_type.id,
                    user_id=user.id,
                    date_deadline=fields.Date.context_today(self) + timedelta(days=delay),
                    note=_("Order %(order)s is confirmed: prepare and ship the delivery.", order=order.name),
                )

    def _sd_handoff_to_invoicing(self):
        Handoff = self.env["sales.document.stage.handoff"]
        activity_type = self.env.ref(HANDOFF_ACTIVITY_TYPES["invoicing"], raise_if_not_found=False)
        warehouse_type = self.env.ref(HANDOFF_ACTIVITY_TYPES["warehouse"], raise_if_not_found=False)
        for order in self:
            if warehouse_type:
                # sudo: the warehouse activities are closed whoever they were assigned to.
                done = order.sudo().picking_ids.activity_ids.filtered(
                    lambda a: a.activity_type_id == warehouse_type
                )
                if done:
                    done.action_feedback(feedback=_("Delivered"))
            if not activity_type or order.invoice_status == "invoiced":
                continue
            user = order._sd_handoff_responsible("invoicing")
            if not user:
                continue
            delay = Handoff._get_delay("invoicing", order.company_id, order.team_id, order.warehouse_id)
            # sudo: the warehouse user validating the delivery hands over to invoicing without rights on the order.
            order.sudo().activity_schedule(
                activity_type_id=activity_type.id,
                user_id=user.id,
                date_deadline=fields.Date.context_today(self) + timedelta(days=delay),
                note=_("The goods are delivered: issue the invoice."),
            )

    def _sd_close_handoff(self, stage, feedback):
        activity_type = self.env.ref(HANDOFF_ACTIVITY_TYPES[stage], raise_if_not_found=False)
        if not activity_type:
            return
        # sudo: the hand-off activity is closed whoever it was assigned to.
        activities = self.sudo().activity_ids.filtered(lambda a: a.activity_type_id == activity_type)
        if activities:
            activities.action_feedback(feedback=feedback)
