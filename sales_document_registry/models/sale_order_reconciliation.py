from datetime import timedelta

from odoo import _, api, fields, models

RECON_STATES = [
    ("ok", "Reconciled"),
    ("open", "In progress"),
    ("mismatch", "Mismatch"),
]


class SaleOrder(models.Model):
    """Four-way reconciliation of an order: ordered, delivered, invoiced, paid.

    Amounts are taxes included, in the order's currency. Invoiced amounts are
    net of credit notes; paid amounts come from the reconciliation of the
    posted invoices and credit notes (whatever settled them: payments, bank
    statements, other credit notes), shared by the orders an invoice covers in
    proportion of their invoice lines.
    """

    _inherit = "sale.order"

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------

    recon_ordered_amount = fields.Monetary(
        string="Ordered amount", compute="_compute_recon", store=True, currency_field="currency_id"
    )
    recon_delivered_amount = fields.Monetary(
        string="Delivered amount", compute="_compute_recon", store=True, currency_field="currency_id",
        help="Value of the quantities delivered (net of returns) at the order's prices, taxes included.",
    )
    recon_invoiced_amount = fields.Monetary(
        string="Invoiced amount", compute="_compute_recon", store=True, currency_field="currency_id",
        help="Posted invoices minus posted credit notes of the order.",
    )
    recon_paid_amount = fields.Monetary(
        string="Paid amount", compute="_compute_recon", store=True, currency_field="currency_id",
        help="Part of the posted invoices settled by reconciliation, net of refunds.",
    )
    recon_state = fields.Selection(
        RECON_STATES,
        string="Reconciliation",
        compute="_compute_recon",
        store=True,
        index=True,
        help="Reconciled: ordered, delivered, invoiced and paid agree. In progress: the order "
        "is not finished yet. Mismatch: see the issue.",
    )
    recon_issue = fields.Text(string="Reconciliation issue", compute="_compute_recon", store=True)
    recon_checked_date = fields.Datetime(string="Reconciliation checked on", readonly=True, copy=False)

    # ------------------------------------------------------------------
    # Compute
    # ------------------------------------------------------------------

    @api.depends(
        "state",
        "amount_total",
        "currency_id",
        "company_id.sales_recon_delivery_days",
        "order_line.product_uom_qty",
        "order_line.qty_delivered",
        "order_line.qty_invoiced",
        "order_line.price_total",
        "order_line.invoice_lines.price_total",
        "order_line.invoice_lines.parent_state",
        "order_line.invoice_lines.move_id.amount_residual",
        "order_line.invoice_lines.move_id.amount_total",
        "order_line.invoice_lines.move_id.invoice_date_due",
        "order_line.move_ids.state",
    )
    def _compute_recon(self):
        today = fields.Date.context_today(self)
        for order in self:
            values = order._sd_recon_values(today)
            order.update(values)

    def _sd_recon_values(self, today):
        """Amounts, state and issue of the order's reconciliation."""
        self.ensure_one()
        currency = self.currency_id
        lines = self.order_line.filtered(lambda line: not line.display_type and not line.is_downpayment)
        ordered = self.amount_total if self.state != "cancel" else 0.0
        delivered = 0.0
        for line in lines:
            unit = line.price_total / line.product_uom_qty if line.product_uom_qty else 0.0
            delivered += unit * self._sd_recon_delivered_qty(line)
        invoiced, paid = self._sd_recon_invoiced_paid()
        issues = self._sd_recon_issues(lines, invoiced, paid, today)
        if issues:
            state = "mismatch"
        elif self.state != "sale":
            state = "ok" if self.state == "cancel" and currency.is_zero(invoiced) else "open"
        elif all(
            currency.compare_amounts(amount, ordered) == 0 for amount in (delivered, invoiced, paid)
        ):
            state = "ok"
        else:
            state = "open"
        return {
            "recon_ordered_amount": ordered,
            "recon_delivered_amount": delivered,
            "recon_invoiced_amount": invoiced,
            "recon_paid_amount": paid,
            "recon_state": state,
            "recon_issue": "\n".join(issues) or False,
        }

    def _sd_recon_invoiced_paid(self):
        """Net invoiced and net paid amounts of the order, in its currency."""
        self.ensure_one()
        invoiced = paid = 0.0
        invoice_lines = self.order_line.invoice_lines.filtered(
            lambda aml: aml.parent_state == "posted" and aml.move_id.move_type in ("out_invoice", "out_refund")
        )
        for move in invoice_lines.move_id:
            own = sum(invoice_lines.filtered(lambda aml, m=move: aml.move_id == m).mapped("price_total"))
            own = move.currency_id._convert(own, self.currency_id, self.company_id, move.invoice_date or move.date)
            sign = -1 if move.move_type == "out_refund" else 1
            invoiced += sign * own
            if move.amount_total:
                settled = (move.amount_total - move.amount_residual) / move.amount_total
                paid += sign * own * settled
        return invoiced, paid

    def _sd_recon_issues(self, lines, invoiced, paid, today):
        self.ensure_one()
        currency = self.currency_id
        issues = []
        over_delivered = [
            line for line in lines
            if line.qty_delivered_method == "stock_move" and float_gt(line.qty_delivered, line.product_uom_qty, line)
        ]
        if over_delivered:
            issues.append(_("Delivered more than ordered: %(products)s.",
                            products=", ".join(over_delivered_names(over_delivered))))
        returned = [line for line in lines if self._sd_recon_returned_not_credited(line)]
        if returned:
            issues.append(_("Goods returned but not credited: %(products)s.",
                            products=", ".join(over_delivered_names(returned))))
        over_invoiced = [
            line for line in lines
            if line not in returned
            and line.product_id.invoice_policy == "delivery"
            and line.qty_delivered_method == "stock_move"
            and float_gt(line.qty_invoiced, line.qty_delivered, line)
        ]
        if over_invoiced:
            issues.append(_("Invoiced more than delivered: %(products)s.",
                            products=", ".join(over_delivered_names(over_invoiced))))
        if currency.compare_amounts(paid, invoiced) > 0:
            issues.append(_("Paid more than invoiced."))
        elif currency.compare_amounts(paid, invoiced) < 0:
            overdue = self.order_line.invoice_lines.move_id.filtered(
                lambda m: m.state == "posted" and m.move_type == "out_invoice"
                and m.amount_residual and m.invoice_date_due and m.invoice_date_due < today
            )
            if overdue:
                issues.append(_("Paid less than invoiced, payment overdue: %(invoices)s.",
                                invoices=", ".join(overdue.mapped("name"))))
        days = self.company_id.sales_recon_delivery_days
        not_delivered = [
            line for line in lines
            if line.qty_delivered_method == "stock_move"
            and float_gt(line.qty_invoiced, line.qty_delivered, line)
            and (first_date := self._sd_recon_first_invoice_date(line))
            and first_date + timedelta(days=days) < today
        ]
        if not_delivered:
            issues.append(_("Invoiced more than %(days)s days ago but not delivered: %(products)s.",
                            days=days, products=", ".join(over_delivered_names(not_delivered))))
        return issues

    @api.model
    def _sd_recon_delivered_qty(self, line):
        """Delivered quantity of a line; services sold on ordered quantities count once confirmed."""
        if line.qty_delivered_method == "stock_move" or line.qty_delivered:
            return line.qty_delivered
        if line.order_id.state == "sale" and line.product_id.invoice_policy == "order":
            return line.product_uom_qty
        return 0.0

    @api.model
    def _sd_recon_returned_not_credited(self, line):
        """Goods came back but the line is still invoiced for more than what stayed delivered."""
        returns = line.move_ids.filtered(lambda m: m.state == "done" and m.origin_returned_move_id)
        return bool(returns) and float_gt(line.qty_invoiced, line.qty_delivered, line)

    @api.model
    def _sd_recon_first_invoice_date(self, line):
        dates = line.invoice_lines.move_id.filtered(
            lambda m: m.state == "posted" and m.move_type == "out_invoice" and m.invoice_date
        ).mapped("invoice_date")
        return min(dates) if dates else False

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_recon_check(self):
        """Check the reconciliation of these orders again now."""
        self._sd_recon_recheck()
        return True

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    def _sd_recon_recheck(self):
        """Recompute the reconciliation and hand the new exceptions over."""
        self.env.add_to_compute(self._fields["recon_state"], self)
        self.flush_recordset()
        # sudo: the check date is system data, written whoever triggered the check.
        self.sudo().write({"recon_checked_date": fields.Datetime.now()})
        self._sd_recon_schedule_activities()

    def _sd_recon_schedule_activities(self):
        activity_type = self.env.ref(
            "sales_document_registry.mail_activity_type_sale_recon", raise_if_not_found=False
        )
        if not activity_type:
            return
        for order in self:
            existing = order.activity_ids.filtered(lambda a: a.activity_type_id == activity_type)
            if order.recon_state != "mismatch":
                if existing:
                    # sudo: the exception activity is closed whoever it was assigned to.
                    existing.sudo().action_feedback(feedback=_("Reconciled"))
                continue
            if existing:
                continue
            user = order._sd_handoff_responsible("invoicing") or order.user_id or self.env.user
            # sudo: the exception is handed to the invoicing responsible whoever triggered the check.
            order.sudo().activity_schedule(
                activity_type_id=activity_type.id,
                user_id=user.id,
                note=order.recon_issue,
            )

    @api.model
    def _cron_recon_check(self, batch_size=500):
        """Re-check the orders not reconciled yet, and list the new exceptions."""
        domain = [("recon_state", "!=", "ok")]
        activity_type = self.env.ref(
            "sales_document_registry.mail_activity_type_sale_recon", raise_if_not_found=False
        )
        if activity_type:
            # Exceptions solved since the last check still hold an activity to close.
            domain = ["|", ("activity_ids.activity_type_id", "=", activity_type.id)] + domain
        orders = self.search(
            [("state", "in", ("sale", "cancel"))] + domain,
            order="recon_checked_date asc nulls first, id",
            limit=batch_size,
        )
        orders._sd_recon_recheck()
        return len(orders)


def float_gt(value, other, line):
    """``value`` > ``other`` in the line's unit of measure."""
    rounding = line.product_uom.rounding or 0.01
    return value - other > rounding / 2


def over_delivered_names(lines):
    return [line.product_id.display_name or line.name for line in lines]
