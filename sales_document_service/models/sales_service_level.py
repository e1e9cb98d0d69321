from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

REQUEST_TYPES = [
    ("complaint", "Complaint"),
    ("return", "Return"),
    ("repair", "Repair"),
    ("question", "Question"),
]


class SalesServiceLevel(models.Model):
    """How long a company gives itself to resolve one type of request.

    The deadline of a request is its filing time plus the level of its
    type in its company (a level without company applies to every company
    that has none of its own).
    """

    _name = "sales.service.level"
    _description = "Service Level"
    _order = "request_type, company_id"

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------

    name = fields.Char(compute="_compute_name")
    request_type = fields.Selection(REQUEST_TYPES, string="Request type", required=True)
    time_value = fields.Float(string="Time to resolve", required=True, default=2.0)
    time_unit = fields.Selection(
        [("hours", "Hours"), ("days", "Days")], string="Unit", required=True, default="days"
    )
    company_id = fields.Many2one("res.company", string="Company", default=lambda self: self.env.company)
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ("type_company_unique", "unique(request_type, company_id)",
         "There is already a service level for this request type in this company."),
    ]

    # ------------------------------------------------------------------
    # Compute
    # ------------------------------------------------------------------

    @api.depends("request_type", "time_value", "time_unit")
    def _compute_name(self):
        types = dict(self._fields["request_type"]._description_selection(self.env))
        units = dict(self._fields["time_unit"]._description_selection(self.env))
        for level in self:
            level.name = f"{types.get(level.request_type, '')}: {level.time_value:g} {units.get(level.time_unit, '')}"

    # ------------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------------

    @api.constrains("time_value")
    def _check_time_value(self):
        for level in self:
            if level.time_value <= 0:
                raise ValidationError(_("The time to resolve must be positive."))

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    def _get_delta(self):
        """The time to resolve as a ``timedelta``."""
        self.ensure_one()
        if self.time_unit == "hours":
            return timedelta(hours=self.time_value)
        return timedelta(days=self.time_value)

    @api.model
    def _find_level(self, request_type, company):
        """The level that applies to ``request_type`` in ``company`` (the company's own first)."""
        # sudo: the deadline is the company's rule, whoever files the request
        # (a portal customer cannot read the service levels).
        levels = self.sudo().search([
            ("request_type", "=", request_type), ("company_id", "in", (company.id, False)),
        ])
        return levels.sorted(lambda level: not level.company_id)[:1]
