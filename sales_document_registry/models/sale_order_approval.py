import hashlib
import json

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import float_repr

from ..tools.server_grant import ServerGrant

APPROVAL_STATES = [
    ("not_required", "Not required"),
    ("required", "Required"),
    ("pending", "Pending"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
]

# Written only by the approval actions, never directly (UI, RPC or import).
APPROVAL_PROTECTED_FIELDS = {
    "approval_state",
    "approval_signature",
    "approval_decision",
    "approval_snapshot",
    "approval_requester_id",
    "approval_request_date",
    "approval_reviewer_id",
    "approval_review_date",
    "approval_reject_reason",
    "approval_oversell",
    "approval_customer_accepted",
}

# Given by :meth:`SaleOrder._sd_write_approval` only.
APPROVAL_WRITE = ServerGrant("sd_approval_write")


class SaleOrder(models.Model):
    """Review of quotations before confirmation.

    Approval rules (``sales.document.approval.rule``) tell which quotations need
    a review. The salesperson requests it, a member of the approver groups who
    is not the requester approves or rejects it. The approval holds for the
    content it saw (a fingerprint of customer, payment terms, lines, prices,
    discounts and amounts): any later change voids it. The confirmation
    pipeline (:meth:`_sd_confirmation_guards`) refuses orders that need an
    approval they do not have; the customer's portal signature and online
    payment put the order on hold for approval instead of failing. The
    approval fields are written by the approval actions only, through
    :meth:`_sd_write_approval`.
    """

    _inherit = "sale.order"

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------

    approval_state = fields.Selection(
        APPROVAL_STATES,
        string="Approval",
        compute="_compute_approval_state",
        store=True,
        index=True,
        copy=False,
        tracking=True,
        help="Whether the quotation needs a review before confirmation, and where the review stands.",
    )
    approval_decision = fields.Selection(
        [("pending", "Pending"), ("approved", "Approved"), ("rejected", "Rejected")],
        string="Approval decision",
        readonly=True,
        copy=False,
    )
    approval_signature = fields.Char(
        string="Approval fingerprint",
        compute="_compute_approval_signature",
        store=True,
        help="Fingerprint of what an approval covers: customer, payment terms, lines, prices, "
        "discounts and amounts.",
    )
    approval_snapshot = fields.Char(
        string="Approved fingerprint",
        readonly=True,
        copy=False,
        help="Fingerprint of the order when the approval was requested.",
    )
    approval_requester_id = fields.Many2one(
        "res.users", string="Approval requested by", readonly=True, copy=False
    )
    approval_request_date = fields.Datetime(string="Approval requested on", readonly=True, copy=False)
    approval_reviewer_id = fields.Many2one("res.users", string="Reviewed by", readonly=True, copy=False)
    approval_review_date = fields.Datetime(string="Reviewed on", readonly=True, copy=False)
    approval_reject_reason = fields.Text(string="Rejection reason", readonly=True, copy=False)
    approval_oversell = fields.Boolean(
        string="Stock shortage approved",
        readonly=True,
        copy=False,
        help="The request covered a stock shortage (overselling set to Needs approval).",
    )
    approval_customer_accepted = fields.Boolean(
        string="Accepted by the customer",
        readonly=True,
        copy=False,
        help="The customer signed or paid online while the review was pending: the order is "
        "confirmed as soon as it is approved.",
    )
    approval_rule_ids = fields.Many2many(
        "sales.document.approval.rule",
        string="Approval rules",
        compute="_compute_approval_rule_ids",
        help="Approval rules this quotation matches.",
    )
    approval_can_review = fields.Boolean(
        string="Can review", compute="_compute_approval_can_review"
    )

    # ------------------------------------------------------------------
    # Compute
    # ------------------------------------------------------------------

    @api.depends(
        "partner_id",
        "payment_term_id",
        "currency_id",
        "pricelist_id",
        "amount_untaxed",
        "amount_total",
        "order_line.product_id",
        "order_line.product_uom_qty",
        "order_line.product_uom",
        "order_line.price_unit",
        "order_line.discount",
        "order_line.tax_id",
        "order_line.display_type",
    )
    def _compute_approval_signature(self):
        for order in self:
            digits = order.currency_id.decimal_places or 2
            lines = sorted(
                (
                    line.product_id.id,
                    float_repr(line.product_uom_qty, 6),
                    line.product_uom.id,
                    float_repr(line.price_unit, 6),
                    float_repr(line.discount, 6),
                    sorted(line.tax_id.ids),
                )
                for line in order.order_line
                if not line.display_type
            )
            content = {
                "partner": order.partner_id.id,
                "payment_term": order.payment_term_id.id,
                "currency": order.currency_id.id,
                "pricelist": order.pricelist_id.id,
                "untaxed": float_repr(order.amount_untaxed, digits),
                "total": float_repr(order.amount_total, digits),
                "lines": lines,
            }
            order.approval_signature = hashlib.sha256(
                json.dumps(content, sort_keys=True).encode()
            ).hexdigest()

    @api.depends(
        "state",
        "company_id",
        "partner_id",
        "amount_total",
        "order_line.discount",
        "approval_signature",
        "approval_snapshot",
        "approval_decision",
    )
    def _compute_approval_state(self):
        Rule = self.env["sales.document.approval.rule"]
        for order in self:
            decision = order.approval_decision
            open_quotation = order.state in ("draft", "sent")
            if decision == "approved" and not open_quotation:
                # Confirmed orders keep the approval they were confirmed with.
                order.approval_state = "approved"
            elif decision and order.approval_snapshot == order.approval_signature:
                order.approval_state = decision
            elif open_quotation and Rule._get_matching(order):
                order.approval_state = "required"
            else:
                order.approval_state = "not_required"

    @api.depends("state", "company_id", "partner_id", "amount_total", "order_line.discount")
    def _compute_approval_rule_ids(self):
        Rule = self.env["sales.document.approval.rule"]
        for order in self:
            order.approval_rule_ids = Rule._get_matching(order)

    @api.depends_context("uid")
    @api.depends("approval_state", "approval_requester_id")
    def _compute_approval_can_review(self):
        for order in self:
            order.approval_can_review = (
                order.approval_state == "pending" and not order._sd_approval_review_problem()
            )

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        if not self._sd_approval_write_allowed():
            # Defaults from the context are written too: they count as values.
            defaults = {key[len("default_"):] for key in self.env.context if key.startswith("default_")}
            for vals in vals_list:
                self._sd_check_approval_fields(set(vals) | defaults)
        return super().create(vals_list)

    def write(self, vals):
        if not self._sd_approval_write_allowed():
            self._sd_check_approval_fields(vals)
        watched = self.filtered(
            lambda o: o.approval_decision in ("pending", "approved") and o.state in ("draft", "sent")
        )
        res = super().write(vals)
        if watched:
            watched._sd_void_changed_approvals()
        return res

    @api.model
    def _sd_approval_write_allowed(self):
        return APPROVAL_WRITE.given(self.env)

    def _sd_write_approval(self, vals):
        """Write approval fields: the approval actions' own path, not callable over RPC."""
        return APPROVAL_WRITE.give(self).write(vals)

    @api.model
    def _sd_check_approval_fields(self, vals):
        protected = APPROVAL_PROTECTED_FIELDS.intersection(vals)
        if protected:
            raise AccessError(_(
                "The approval of an order is given through its Request approval, Approve and "
                "Reject actions only; it cannot be written directly (%(fields)s).",
                fields=", ".join(sorted(self._fields[name].string for name in protected)),
            ))

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_request_approval(self):
        """Ask the approvers to review these quotations (the current user is the requester)."""
        for order in self:
            if order.state not in ("draft", "sent"):
                raise UserError(_("%(order)s is no longer a quotation: there is nothing to approve.",
                                  order=order.name))
            if order.approval_state == "pending":
                raise UserError(_("The approval of %(order)s is already pending.", order=order.name))
        for order in self:
            rules = order._sd_approval_rules()
            shortages = order._sd_approval_shortages()
            if not rules and not shortages:
                raise UserError(_(
                    "%(order)s does not need an approval: no approval rule matches it and "
                    "nothing it asks for is short in stock.",
                    order=order.name,
                ))
            order._sd_write_approval({
                "approval_decision": "pending",
                "approval_snapshot": order.approval_signature,
                "approval_requester_id": self.env.uid,
                "approval_request_date": fields.Datetime.now(),
                "approval_reviewer_id": False,
                "approval_review_date": False,
                "approval_reject_reason": False,
                "approval_oversell": bool(shortages),
            })
            order._sd_mark_stage("review_requested")
            order.message_post(body=order._sd_approval_request_message(rules, shortages))
            order._sd_schedule_approval_activities(rules)
        return True

    def action_approve(self):
        """Approve the pending quotations; the approver is the current user."""
        for order in self:
            if order.approval_state != "pending":
                raise UserError(_(
                    "%(order)s has no pending approval request (it may have changed since the "
                    "request, which voids it: request the approval again).",
                    order=order.name,
                ))
            problem = order._sd_approval_review_problem()
            if problem:
                raise AccessError(problem)
        self._sd_write_approval({
            "approval_decision": "approved",
            "approval_reviewer_id": self.env.uid,
            "approval_review_date": fields.Datetime.now(),
        })
        self._sd_mark_stage("approved")
        for order in self:
            order._sd_close_approval_activities(_("Approved"))
            order.message_post(body=_("Approved by %(user)s.", user=self.env.user.name))
        self.filtered("approval_customer_accepted")._sd_confirm_after_approval()
        return True

    def action_reject(self, reason):
        """Reject the pending quotations, with the reason shown to the requester."""
        reason = (reason or "").strip()
        if not reason:
            raise UserError(_("Give the reason for the rejection."))
        for order in self:
            if order.approval_state != "pending":
                raise UserError(_("%(order)s has no pending approval request.", order=order.name))
            problem = order._sd_approval_review_problem()
            if problem:
                raise AccessError(problem)
        self._sd_write_approval({
            "approval_decision": "rejected",
            "approval_reviewer_id": self.env.uid,
            "approval_review_date": fields.Datetime.now(),
            "approval_reject_reason": reason,
        })
        for order in self:
            order._sd_close_approval_activities(_("Rejected: %(reason)s", reason=reason))
            order.message_post(
                body=_("Rejected by %(user)s: %(reason)s", user=self.env.user.name, reason=reason),
                partner_ids=order.approval_requester_id.partner_id.ids,
            )
        return True

    def action_open_approval_reject(self):
        """Ask the reviewer for the reason of the rejection."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Reject approval"),
            "res_model": "sales.document.approval.reject.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_order_ids": self.ids},
        }

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    def _sd_approval_request_message(self, rules, shortages):
        """The chatter line of an approval request: who asked, and which rules or shortage need it."""
        self.ensure_one()
        requester, names = self.env.user.name, ", ".join(rules.mapped("name"))
        if rules and shortages:
            return _(
                "Approval requested by %(user)s (%(rules)s) and for a stock shortage.", user=requester, rules=names
            )
        if shortages:
            return _("Approval requested by %(user)s for a stock shortage.", user=requester)
        return _("Approval requested by %(user)s (%(rules)s).", user=requester, rules=names)

    def _sd_approval_rules(self):
        """Approval rules matching the order as it is now."""
        self.ensure_one()
        return self.env["sales.document.approval.rule"]._get_matching(self)

    def _sd_approval_shortages(self):
        """Stock shortages that need an approval (overselling set to Needs approval)."""
        self.ensure_one()
        if self.company_id.sales_oversell_mode != "approval":
            return []
        return self._sd_oversell_shortages()

    def _sd_approval_valid(self):
        """Whether the order holds an approval for exactly its current content."""
        self.ensure_one()
        return self.approval_decision == "approved" and self.approval_snapshot == self.approval_signature

    def _sd_approval_review_problem(self, user=None):
        """Why ``user`` may not review this order's request, or False."""
        self.ensure_one()
        user = user or self.env.user
        if user == self.approval_requester_id:
            return _("%(order)s: you requested this approval; another approver must review it.",
                     order=self.name)
        groups = self._sd_approval_rules().approver_group_id
        if not groups and self.approval_oversell:
            groups = self.env.ref("sales_team.group_sale_manager")
        missing = groups.filtered(lambda group: user not in group.users)
        if missing:
            return _(
                "%(order)s can only be reviewed by members of %(groups)s.",
                order=self.name,
                groups=", ".join(missing.mapped("full_name")),
            )
        return False

    def _sd_check_approval(self):
        """Refuse to confirm quotations that need an approval they do not hold."""
        problems = []
        for order in self.filtered(lambda o: o.state in ("draft", "sent")):
            rules = order._sd_approval_rules()
            if not rules:
                continue
            if not order._sd_approval_valid():
                labels = dict(self._fields["approval_state"]._description_selection(self.env))
                state = labels[order.approval_state or "required"]
                if order.approval_decision == "approved":
                    state = _("void, the order changed after the approval request")
                problems.append(_(
                    "%(order)s needs an approval (%(rules)s); approval: %(state)s.",
                    order=order.name, rules=", ".join(rules.mapped("name")), state=state,
                ))
                continue
            # A rule added after the approval may ask for other approvers.
            reviewer = order.approval_reviewer_id
            missing = rules.approver_group_id.filtered(lambda group, user=reviewer: user not in group.users)
            if missing:
                problems.append(_(
                    "%(order)s was approved by %(user)s, who is not in %(groups)s: request the "
                    "approval again.",
                    order=order.name, user=order.approval_reviewer_id.name,
                    groups=", ".join(missing.mapped("full_name")),
                ))
        if problems:
            raise UserError("\n".join(problems))

    def _sd_void_changed_approvals(self):
        """Void requests and approvals whose order changed since they were requested."""
        for order in self:
            if order.approval_decision not in ("pending", "approved"):
                continue
            if order.approval_snapshot == order.approval_signature:
                continue
            order._sd_write_approval({
                "approval_decision": False,
                "approval_snapshot": False,
                "approval_customer_accepted": False,
            })
            order._sd_close_approval_activities(_("Void: the order changed"))
            order.message_post(body=_(
                "The approval is void: the customer, payment terms, lines, prices, discounts "
                "or amounts changed after it was requested. Request it again."
            ))

    def _sd_approvers(self, rules):
        """Users who may approve this order under ``rules``, except the requester."""
        self.ensure_one()
        groups = rules.approver_group_id or self.env.ref("sales_team.group_sale_manager")
        users = groups[0].users
        for group in groups[1:]:
            users &= group.users
        return users.filtered(
            lambda u: u.active and not u.share and self.company_id in u.company_ids
            and u != self.approval_requester_id
        )

    def _sd_schedule_approval_activities(self, rules):
        self.ensure_one()
        activity_type = self.env.ref(
            "sales_document_registry.mail_activity_type_sale_approval", raise_if_not_found=False
        )
        if not activity_type:
            return
        for user in self._sd_approvers(rules):
            self.activity_schedule(
                activity_type_id=activity_type.id,
                user_id=user.id,
                note=_("Review the quotation and approve or reject it."),
            )

    def _sd_close_approval_activities(self, feedback):
        self.ensure_one()
        activity_type = self.env.ref(
            "sales_document_registry.mail_activity_type_sale_approval", raise_if_not_found=False
        )
        if not activity_type:
            return
        # sudo: the reviewer closes the activities of the other approvers too.
        activities = self.sudo().activity_ids.filtered(lambda a: a.activity_type_id == activity_type)
        if activities:
            activities.action_feedback(feedback=feedback)

    def _sd_hold_for_approval(self):
        """The customer accepted (signed or paid) a quotation that waits for approval."""
        for order in self:
            if order.approval_state != "pending":
                order.action_request_approval()
            order._sd_write_approval({"approval_customer_accepted": True})
            order.message_post(body=_(
                "The customer accepted the quotation; it will be confirmed once approved."
            ))

    def _sd_confirmation_needs_approval(self):
        """Quotations of ``self`` that a customer's acceptance cannot confirm yet."""
        held = self.browse()
        for order in self.filtered(lambda o: o.state in ("draft", "sent")):
            if order._sd_approval_valid():
                continue
            if order._sd_approval_rules() or order._sd_approval_shortages():
                held |= order
        return held

    def _sd_confirm_after_approval(self):
        for order in self.filtered(lambda o: o.state in ("draft", "sent")):
            try:
                with self.env.cr.savepoint():
                    order.with_context(send_email=True).action_confirm()
            except UserError as error:
                order.message_post(body=_(
                    "Approved, but the order could not be confirmed automatically: %(error)s",
                    error=error.args[0],
                ))

    def _validate_order(self):
        # Portal signature: an order waiting for approval is held, not confirmed.
        held = self._sd_confirmation_needs_approval()
        held._sd_hold_for_approval()
        return super(SaleOrder, self - held)._validate_order()
