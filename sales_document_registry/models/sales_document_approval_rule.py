from odoo import api, fields, models
from odoo.tools.safe_eval import safe_eval


class SalesDocumentApprovalRule(models.Model):
    """When a quotation needs a review before it can be confirmed, and by whom.

    A rule matches an order when every condition it sets holds: the total
    reaches ``min_amount``, a line discount exceeds ``max_discount``, and the
    order matches ``domain``. A condition left empty (zero, or no domain) is not
    checked. Every matching rule must be satisfied by the approver: they belong
    to the approver group of each of them.
    """

    _name = "sales.document.approval.rule"
    _description = "Sales Order Approval Rule"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        string="Company",
        default=lambda self: self.env.company,
        index=True,
        help="Leave empty to apply the rule in every company.",
    )
    currency_id = fields.Many2one(
        "res.currency", compute="_compute_currency_id", string="Currency"
    )
    min_amount = fields.Monetary(
        string="Minimum amount",
        currency_field="currency_id",
        help="Orders whose total (taxes included, in the company currency) reaches this "
        "amount need approval. Zero: the amount is not checked.",
    )
    max_discount = fields.Float(
        string="Maximum discount (%)",
        help="Orders with a line discount above this percentage need approval. "
        "Zero: the discount is not checked.",
    )
    domain = fields.Char(
        string="Orders",
        default="[]",
        help="Only orders matching this filter (on the order or its customer) need approval.",
    )
    approver_group_id = fields.Many2one(
        "res.groups",
        string="Approvers",
        required=True,
        default=lambda self: self.env.ref("sales_team.group_sale_manager", raise_if_not_found=False),
        help="Members of this group may approve the orders this rule matches.",
    )

    _sql_constraints = [
        ("min_amount_positive", "CHECK(min_amount >= 0)", "The minimum amount cannot be negative."),
        (
            "max_discount_range",
            "CHECK(max_discount >= 0 AND max_discount <= 100)",
            "The maximum discount is a percentage between 0 and 100.",
        ),
    ]

    # ------------------------------------------------------------------
    # Compute
    # ------------------------------------------------------------------

    @api.depends("company_id")
    def _compute_currency_id(self):
        for rule in self:
            rule.currency_id = (rule.company_id or self.env.company).currency_id

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        rules = super().create(vals_list)
        self._recompute_open_orders()
        return rules

    def write(self, vals):
        res = super().write(vals)
        self._recompute_open_orders()
        return res

    def unlink(self):
        res = super().unlink()
        self._recompute_open_orders()
        return res

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    @api.model
    def _recompute_open_orders(self):
        """Quotations show whether they need approval under the rules as they are now."""
        # sudo: a rule change recomputes every open quotation, whoever may read it.
        orders = self.env["sale.order"].sudo().search([("state", "in", ("draft", "sent"))])
        if orders:
            self.env.add_to_compute(orders._fields["approval_state"], orders)

    def _get_domain(self):
        self.ensure_one()
        return safe_eval(self.domain or "[]")

    def _matches(self, order):
        """Whether this rule asks for a review of ``order``."""
        self.ensure_one()
        if self.min_amount:
            company = order.company_id or self.env.company
            total = order.currency_id._convert(
                order.amount_total, company.currency_id, company,
                order.date_order or fields.Date.context_today(self),
            )
            if company.currency_id.compare_amounts(total, self.min_amount) < 0:
                return False
        if self.max_discount:
            lines = order.order_line.filtered(lambda line: not line.display_type)
            if not any(line.discount > self.max_discount for line in lines):
                return False
        domain = self._get_domain()
        if domain and not order.filtered_domain(domain):
            return False
        return True

    @api.model
    def _get_matching(self, order):
        """Active rules of the order's company that ask for a review of ``order``."""
        company = order.company_id or self.env.company
        # sudo: rules are configuration; every order is checked against all of them.
        rules = self.sudo().search([("company_id", "in", (False, company.id))])
        return rules.filtered(lambda rule: rule._matches(order))
