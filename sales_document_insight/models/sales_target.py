import logging
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import SQL, date_utils

_logger = logging.getLogger(__name__)

BASES = [
    ("confirmed", "Confirmed orders"),
    ("invoiced", "Invoiced (net of credit notes)"),
    ("paid", "Paid"),
]

PERIODS = [
    ("month", "Month"),
    ("quarter", "Quarter"),
    ("year", "Year"),
    ("custom", "Custom"),
]

PACE_STATES = [
    ("ahead", "Ahead"),
    ("on_track", "On track"),
    ("behind", "Behind"),
]

# Registry rows counted by each basis: (document types, registry states).
# Credit notes count negatively (see ``_achieved_sql``).
BASIS_ROWS = {
    "confirmed": (("order",), ("open", "done")),
    "invoiced": (("invoice", "credit_note"), ("open", "done")),
    "paid": (("payment",), ("open", "done")),
}

# Fields only the measuring job writes. A client cannot send this object, so
# no context of theirs can pass the guard in ``write``.
RESULT_FIELDS = frozenset({
    "amount_achieved", "count_achieved", "forecast_amount", "progress",
    "pace_expected", "pace_state", "date_measured", "behind_notified",
})
RESULT_SENTINEL = object()

PARAM_PREFIX = "sales_document_insight."


def period_bounds(period, day):
    """First and last day of the month, quarter or year holding ``day``."""
    return date_utils.start_of(day, period), date_utils.end_of(day, period)


def detect_period(date_from, date_to):
    """The period whose bounds are exactly ``date_from`` to ``date_to``, or ``custom``."""
    for period in ("month", "quarter", "year"):
        if period_bounds(period, date_from) == (date_from, date_to):
            return period
    return "custom"


def expected_pace(date_from, date_to, on_date):
    """Share (0-100) of the period elapsed at the end of ``on_date``."""
    total = (date_to - date_from).days + 1
    elapsed = (min(max(on_date, date_from - timedelta(days=1)), date_to) - date_from).days + 1
    return max(0.0, min(100.0, 100.0 * elapsed / total))


def pace_state(progress, expected, tolerance):
    """Ahead, on track or behind: progress against the expected pace, within ``tolerance`` points."""
    if progress >= 100.0 or progress >= expected + tolerance:
        return "ahead"
    if progress < expected - tolerance:
        return "behind"
    return "on_track"


class SalesTarget(models.Model):
    """A sales target of a salesperson or a team over a period.

    What is achieved is measured from the registry (``sales.document``) on the
    target's basis, for all targets at once (one grouped query), by a nightly
    job and on demand; the target card also shows the live figure.
    """

    _name = "sales.target"
    _description = "Sales Target"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "date_from desc, id desc"

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------

    name = fields.Char(compute="_compute_name", store=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    user_id = fields.Many2one(
        "res.users", string="Salesperson", index=True, tracking=True,
        domain="[('share', '=', False)]",
    )
    team_id = fields.Many2one("crm.team", string="Sales Team", index=True, tracking=True)
    period = fields.Selection(PERIODS, required=True, default="month")
    date_from = fields.Date(
        string="From", required=True, default=lambda self: date_utils.start_of(fields.Date.context_today(self), "month")
    )
    date_to = fields.Date(string="To", required=True)
    basis = fields.Selection(BASES, required=True, default="invoiced", tracking=True)
    amount_target = fields.Monetary(string="Target", required=True, currency_field="currency_id", tracking=True)
    count_target = fields.Integer(string="Target (documents)", help="Optional: a number of documents on the basis.")
    # Written by the measuring job only (see RESULT_FIELDS).
    amount_achieved = fields.Monetary(string="Achieved", readonly=True, currency_field="currency_id")
    count_achieved = fields.Integer(string="Achieved (documents)", readonly=True)
    forecast_amount = fields.Monetary(
        string="Forecast", readonly=True, currency_field="currency_id",
        help="Achieved, plus open quotations times the quotation weight, plus open "
        "opportunities times their probability (when CRM is installed).",
    )
    progress = fields.Float(string="Progress (%)", readonly=True, digits=(16, 1), aggregator="avg")
    pace_expected = fields.Float(
        string="Expected pace (%)", readonly=True, digits=(16, 1), aggregator="avg",
        help="Share of the period elapsed when last measured.",
    )
    pace_state = fields.Selection(PACE_STATES, string="Pace", readonly=True, index=True)
    date_measured = fields.Datetime(string="Measured on", readonly=True)
    behind_notified = fields.Boolean(readonly=True, copy=False)
    # Live figures for the target card, measured when read.
    live_amount = fields.Monetary(string="Achieved now", compute="_compute_live", currency_field="currency_id")
    live_progress = fields.Float(string="Progress now (%)", compute="_compute_live", digits=(16, 1))
    live_pace_expected = fields.Float(string="Expected now (%)", compute="_compute_live", digits=(16, 1))
    live_pace_state = fields.Selection(PACE_STATES, string="Pace now", compute="_compute_live")

    # ------------------------------------------------------------------
    # Compute
    # ------------------------------------------------------------------

    @api.depends("user_id", "team_id", "date_from", "date_to", "basis")
    def _compute_name(self):
        bases = dict(BASES)
        for target in self:
            who = target.user_id.name or target.team_id.name or ""
            if target.user_id and target.team_id:
                who = f"{target.user_id.name} ({target.team_id.name})"
            target.name = f"{who} {target.date_from or ''} - {target.date_to or ''} · {bases.get(target.basis, '')}"

    def _compute_live(self):
        real = self.filtered("id")
        today = fields.Date.context_today(self)
        figures = real._measure() if real else {}
        tolerance = self._param_float("pace_tolerance", 10.0)
        for target in self:
            amount, _count = figures.get(target.id, (0.0, 0))
            progress = 100.0 * amount / target.amount_target if target.amount_target else 0.0
            expected = expected_pace(target.date_from, target.date_to, today) if target.date_to else 0.0
            target.live_amount = amount
            target.live_progress = progress
            target.live_pace_expected = expected
            target.live_pace_state = pace_state(progress, expected, tolerance)

    # ------------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------------

    @api.constrains("date_from", "date_to")
    def _check_dates(self):
        for target in self:
            if target.date_to < target.date_from:
                raise ValidationError(_("A target's end date cannot be before its start date."))

    @api.constrains("user_id", "team_id")
    def _check_owner(self):
        for target in self:
            if not target.user_id and not target.team_id:
                raise ValidationError(_("A target needs a salesperson or a sales team."))

    @api.constrains("amount_target", "count_target")
    def _check_amounts(self):
        for target in self:
            if target.amount_target < 0 or target.count_target < 0:
                raise ValidationError(_("A target cannot be negative."))

    @api.constrains("user_id", "team_id", "basis", "date_from", "date_to", "company_id", "active")
    def _check_overlap(self):
        self.flush_model()
        self.env.cr.execute(SQL(
            """
            SELECT t.id FROM sales_target t
              JOIN sales_target o ON o.id <> t.id AND o.active
                   AND o.company_id = t.company_id AND o.basis = t.basis
                   AND o.user_id IS NOT DISTINCT FROM t.user_id
                   AND o.team_id IS NOT DISTINCT FROM t.team_id
                   AND o.date_from <= t.date_to AND t.date_from <= o.date_to
             WHERE t.id IN %s AND t.active
             LIMIT 1
            """,
            tuple(self.ids),
        ))
        row = self.env.cr.fetchone()
        if row:
            target = self.browse(row[0])
            raise ValidationError(_(
                "%(target)s overlaps another target of the same salesperson, team and basis.",
                target=target.sudo().name,
            ))

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        self._check_result_fields(vals_list)
        return super().create([self._prepare_period_vals(vals) for vals in vals_list])

    def write(self, vals):
        self._check_result_fields([vals])
        if {"period", "date_from", "date_to"} & set(vals) and len(self) == 1:
            vals = self._prepare_period_vals(vals, self)
        return super().write(vals)

    def _check_result_fields(self, vals_list):
        if self.env.context.get("sales_target_results") is RESULT_SENTINEL:
            return
        for vals in vals_list:
            forbidden = RESULT_FIELDS & set(vals)
            if forbidden:
                raise AccessError(_(
                    "The achieved figures of a target are measured from the registry; "
                    "they cannot be written (%(fields)s).",
                    fields=", ".join(sorted(forbidden)),
                ))

    @api.model
    def _prepare_period_vals(self, vals, target=None):
        """Fill ``date_to`` (and align ``date_from``) from the period; detect it from explicit dates."""
        vals = dict(vals)
        date_from = fields.Date.to_date(vals.get("date_from") or (target and target.date_from)) or \
            date_utils.start_of(fields.Date.context_today(self), "month")
        period = vals.get("period") or (target and target.period) or "month"
        if "date_to" in vals and "period" not in vals:
            date_to = fields.Date.to_date(vals["date_to"])
            if date_to:
                vals["period"] = detect_period(date_from, date_to)
            return vals
        if period != "custom":
            vals["date_from"], vals["date_to"] = period_bounds(period, date_from)
        elif not vals.get("date_to") and not (target and target.date_to):
            vals["date_to"] = date_from
        return vals

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_recompute(self):
        """Measure these targets now (managers). Returns True."""
        self.check_access("write")
        (self or self.search([])).sudo()._recompute()
        return True

    def action_open_documents(self):
        """The registry rows counted by this target, as a window action."""
        self.ensure_one()
        types, states = BASIS_ROWS[self.basis]
        domain = [
            ("doc_type", "in", list(types)), ("state", "in", list(states)),
            ("date", ">=", self.date_from), ("date", "<=", self.date_to),
            ("company_id", "=", self.company_id.id),
        ]
        if self.user_id:
            domain.append(("user_id", "=", self.user_id.id))
        if self.team_id:
            domain.append(("team_id", "=", self.team_id.id))
        return {
            "type": "ir.actions.act_window",
            "name": _("Documents of %(target)s", target=self.name),
            "res_model": "sales.document",
            "view_mode": "list,pivot,graph",
            "domain": domain,
        }

    # ------------------------------------------------------------------
    # Measuring (set-wise)
    # ------------------------------------------------------------------

    @api.model
    def _param_float(self, key, default):
        # sudo: reading a documented setting, not a secret.
        value = self.env["ir.config_parameter"].sudo().get_param(PARAM_PREFIX + key)
        try:
            return float(value) if value not in (None, False, "") else default
        except ValueError:
            return default

    def _sum_rows(self, bases, any_basis=False):
        """{target id: (signed amount, documents)} of the registry rows of each target.

        ``bases`` maps a target basis to the (document types, registry states)
        it counts. The rows of all targets' periods, salespeople and teams are
        first summed per company, salesperson, team, day and basis (one scan),
        then joined to the targets by equality: on the salesperson for
        salesperson targets, on the team for team targets. Credit notes count
        negatively and are not counted as documents. With ``any_basis``, the
        rows count for every target whatever its basis (the open pipeline).
        """
        if not self.ids:
            return {}
        self.env.flush_all()
        basis_case = SQL("CASE %s END", SQL(" ").join(
            SQL("WHEN d.doc_type IN %s AND d.state IN %s THEN %s", types, states, basis)
            for basis, (types, states) in bases.items()
        ))
        self.env.cr.execute(SQL(
            """
            WITH t AS (
                SELECT id, company_id, user_id, team_id, basis, date_from, date_to
                  FROM sales_target WHERE id IN %(ids)s
            ), a AS (
                SELECT d.company_id, d.user_id, d.team_id, d.date, %(basis_case)s AS basis,
                       SUM(CASE WHEN d.doc_type = 'credit_note' THEN -d.amount_total ELSE d.amount_total END)
                           AS amount,
                       COUNT(*) FILTER (WHERE d.doc_type <> 'credit_note') AS documents
                  FROM sales_document d
                 WHERE d.active AND d.doc_type IN %(types)s
                   AND d.date BETWEEN (SELECT MIN(date_from) FROM t) AND (SELECT MAX(date_to) FROM t)
                   AND (d.user_id IN (SELECT user_id FROM t)
                        OR d.team_id IN (SELECT team_id FROM t WHERE user_id IS NULL))
                 GROUP BY 1, 2, 3, 4, 5
            )
            SELECT t.id, SUM(a.amount), SUM(a.documents)
              FROM t JOIN a ON a.user_id = t.user_id AND a.company_id = t.company_id AND %(basis_join)s
                           AND a.date BETWEEN t.date_from AND t.date_to
                           AND (t.team_id IS NULL OR a.team_id = t.team_id)
             WHERE t.user_id IS NOT NULL
             GROUP BY t.id
            UNION ALL
            SELECT t.id, SUM(a.amount), SUM(a.documents)
              FROM t JOIN a ON a.team_id = t.team_id AND a.company_id = t.company_id AND %(basis_join)s
                           AND a.date BETWEEN t.date_from AND t.date_to
             WHERE t.user_id IS NULL
             GROUP BY t.id
            """,
            ids=tuple(self.ids),
            basis_case=basis_case,
            basis_join=SQL("a.basis IS NOT NULL") if any_basis else SQL("a.basis = t.basis"),
            types=tuple({doc_type for types, _states in bases.values() for doc_type in types}),
        ))
        return {row[0]: (float(row[1] or 0.0), int(row[2] or 0)) for row in self.env.cr.fetchall()}

    def _measure(self):
        """{target id: (amount achieved, documents counted)} for these targets, in one query."""
        return self._sum_rows(BASIS_ROWS)

    def _pipeline(self):
        """{target id: weighted open pipeline} from quotations and, with CRM, opportunities."""
        if not self.ids:
            return {}
        weight = self._param_float("quotation_weight", 50.0) / 100.0
        quotations = self._sum_rows({"confirmed": (("order",), ("draft",))}, any_basis=True)
        pipeline = {target_id: amount * weight for target_id, (amount, _count) in quotations.items()}
        Lead = self.env.get("crm.lead")
        if Lead is not None:
            Lead.flush_model()
            self.env.cr.execute(SQL(
                """
                SELECT t.id, COALESCE(SUM(l.expected_revenue * l.probability / 100.0), 0)
                  FROM sales_target t
                  JOIN crm_lead l ON l.active AND l.type = 'opportunity'
                       AND l.probability < 100 AND l.company_id = t.company_id
                       AND l.date_deadline BETWEEN t.date_from AND t.date_to
                       AND (t.user_id IS NULL OR l.user_id = t.user_id)
                       AND (t.team_id IS NULL OR l.team_id = t.team_id)
                 WHERE t.id IN %s
                 GROUP BY t.id
                """,
                tuple(self.ids),
            ))
            for target_id, amount in self.env.cr.fetchall():
                pipeline[target_id] = pipeline.get(target_id, 0.0) + float(amount)
        return pipeline

    def _recompute(self, on_date=None):
        """Measure these targets against the registry and store the figures.

        ``on_date`` is the day the pace is measured at (today by default).
        """
        on_date = on_date or fields.Date.context_today(self)
        figures = self._measure()
        pipeline = self._pipeline()
        tolerance = self._param_float("pace_tolerance", 10.0)
        now = fields.Datetime.now()
        rows = []
        for target in self:
            amount, count = figures.get(target.id, (0.0, 0))
            progress = round(100.0 * amount / target.amount_target, 1) if target.amount_target else 0.0
            expected = round(expected_pace(target.date_from, target.date_to, on_date), 1)
            rows.append(SQL(
                "(%s, %s, %s, %s, %s, %s, %s)",
                target.id, amount, count, amount + float(pipeline.get(target.id, 0.0)),
                progress, expected, pace_state(progress, expected, tolerance),
            ))
        # The measured figures are plain stored columns nobody else writes
        # (see RESULT_FIELDS): one UPDATE for every target, not one write each.
        self.flush_model()
        for start in range(0, len(rows), 10000):
            self.env.cr.execute(SQL(
                """
                UPDATE sales_target t
                   SET amount_achieved = v.amount, count_achieved = v.documents, forecast_amount = v.forecast,
                       progress = v.progress, pace_expected = v.expected, pace_state = v.pace,
                       date_measured = %s, write_date = %s, write_uid = %s
                  FROM (VALUES %s) AS v(id, amount, documents, forecast, progress, expected, pace)
                 WHERE t.id = v.id
                """,
                now, now, self.env.uid,
                SQL(", ").join(rows[start:start + 10000]),
            ))
        self.invalidate_recordset([*RESULT_FIELDS - {"behind_notified"}, "write_date", "write_uid"])
        return True

    def _notify_behind(self, on_date=None):
        """One warning activity for the salesperson (and team leader) of a target falling behind."""
        on_date = on_date or fields.Date.context_today(self)
        results = self.with_context(sales_target_results=RESULT_SENTINEL)
        recovered = self.filtered(lambda t: t.behind_notified and t.pace_state != "behind")
        results.browse(recovered.ids).write({"behind_notified": False})
        behind = self.filtered(
            lambda t: t.pace_state == "behind" and not t.behind_notified and t.date_from <= on_date <= t.date_to
        )
        activity_type = self.env.ref("mail.mail_activity_data_warning", raise_if_not_found=False)
        for target in behind:
            users = target.user_id | target.team_id.user_id
            for user in users:
                target.activity_schedule(
                    activity_type_id=activity_type.id if activity_type else False,
                    summary=_("Target behind its pace"),
                    note=_(
                        "%(target)s: %(progress)s%% achieved, %(expected)s%% of the period elapsed.",
                        target=target.name, progress=target.progress, expected=target.pace_expected,
                    ),
                    user_id=user.id,
                    date_deadline=on_date,
                )
        results.browse(behind.ids).write({"behind_notified": True})
        return True

    @api.model
    def _cron_measure(self, on_date=None):
        """Nightly: measure every active target, then warn about those behind."""
        targets = self.sudo().search([])
        targets._recompute(on_date)
        targets._notify_behind(on_date)
        return True

