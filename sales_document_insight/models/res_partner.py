from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

RFM_SEGMENTS = [
    ("key", "Key"),
    ("loyal", "Loyal"),
    ("new", "New"),
    ("at_risk", "At risk"),
    ("lost", "Lost"),
    ("occasional", "Occasional"),
]

# Columns the nightly job writes (in one statement); nobody else may.
INSIGHT_FIELDS = (
    "insight_first_purchase", "insight_last_purchase", "insight_order_count", "insight_revenue",
    "insight_frequency_days", "insight_repeat_rate", "insight_avg_order", "insight_pay_days",
    "insight_overdue_share", "insight_service_count", "insight_rating_avg",
    "rfm_recency", "rfm_frequency", "rfm_monetary", "rfm_segment", "insight_date",
)
PARAM_PREFIX = "sales_document_insight."
RFM_DEFAULTS = {"rfm_window_days": 365, "rfm_new_days": 90, "rfm_risk_days": 180, "rfm_lost_days": 365}

# The customer-level figures, from the registry, the invoices' reconciliation
# and the service requests; %(...)s are SQL parameters.
INSIGHT_QUERY = """
WITH orders AS (
    SELECT d.partner_id,
           MIN(d.date) AS first_date, MAX(d.date) AS last_date,
           COUNT(*) AS order_count, SUM(d.amount_total) AS revenue,
           COUNT(*) FILTER (WHERE d.date > %(window_start)s) AS window_count,
           COALESCE(SUM(d.amount_total) FILTER (WHERE d.date > %(window_start)s), 0) AS window_amount
      FROM sales_document d
     WHERE d.doc_type = 'order' AND d.state IN ('open', 'done') AND d.active AND d.partner_id IS NOT NULL
     GROUP BY d.partner_id
), scored AS (
    SELECT o.*,
           CASE WHEN o.window_count > 0 THEN NTILE(5) OVER (
                PARTITION BY o.window_count > 0 ORDER BY o.window_count, o.last_date) ELSE 1 END AS f_score,
           CASE WHEN o.window_count > 0 THEN NTILE(5) OVER (
                PARTITION BY o.window_count > 0 ORDER BY o.window_amount) ELSE 1 END AS m_score
      FROM orders o
), paid AS (
    SELECT m.id, m.commercial_partner_id AS partner_id, m.invoice_date, m.invoice_date_due,
           m.payment_state IN ('paid', 'in_payment') AS is_paid,
           (SELECT MAX(r.max_date) FROM account_move_line l
              JOIN account_partial_reconcile r ON r.debit_move_id = l.id
             WHERE l.move_id = m.id AND l.display_type = 'payment_term') AS paid_date
      FROM account_move m
     WHERE m.move_type = 'out_invoice' AND m.state = 'posted' AND m.commercial_partner_id IS NOT NULL
), payments AS (
    SELECT partner_id,
           AVG(paid_date - invoice_date) FILTER (WHERE is_paid AND paid_date IS NOT NULL) AS pay_days,
           100.0 * COUNT(*) FILTER (WHERE (is_paid AND paid_date > invoice_date_due)
                                       OR (NOT is_paid AND invoice_date_due < %(today)s)) / COUNT(*) AS overdue
      FROM paid GROUP BY partner_id
), services AS (
    SELECT p.commercial_partner_id AS partner_id, COUNT(*) AS service_count,
           AVG(s.rating) FILTER (WHERE s.rating > 0) AS rating_avg
      FROM sales_service_request s JOIN res_partner p ON p.id = s.partner_id
     WHERE s.active
     GROUP BY p.commercial_partner_id
), customers AS (
    SELECT partner_id FROM orders UNION SELECT partner_id FROM payments UNION SELECT partner_id FROM services
)
SELECT c.partner_id, s.first_date AS insight_first_purchase, s.last_date AS insight_last_purchase,
       COALESCE(s.order_count, 0) AS insight_order_count, COALESCE(s.revenue, 0) AS insight_revenue,
       CASE WHEN s.order_count > 1 THEN (s.last_date - s.first_date)::float / (s.order_count - 1) END AS insight_frequency_days,
       CASE WHEN s.order_count > 0 THEN 100.0 * (s.order_count - 1) / s.order_count ELSE 0 END AS insight_repeat_rate,
       CASE WHEN s.order_count > 0 THEN s.revenue / s.order_count ELSE 0 END AS insight_avg_order,
       pay.pay_days AS insight_pay_days, COALESCE(pay.overdue, 0) AS insight_overdue_share,
       COALESCE(sv.service_count, 0) AS insight_service_count, COALESCE(sv.rating_avg, 0) AS insight_rating_avg,
       CASE WHEN s.last_date IS NULL THEN 0
            WHEN %(today)s - s.last_date > %(lost_days)s THEN 1
            WHEN %(today)s - s.last_date > %(risk_days)s THEN 2
            WHEN %(today)s - s.last_date > %(risk_days)s / 2 THEN 3
            WHEN %(today)s - s.last_date > %(risk_days)s / 6 THEN 4
            ELSE 5 END AS rfm_recency,
       COALESCE(s.f_score, 0) AS rfm_frequency, COALESCE(s.m_score, 0) AS rfm_monetary,
       CASE WHEN s.last_date IS NULL THEN NULL
            WHEN %(today)s - s.last_date > %(lost_days)s THEN 'lost'
            WHEN %(today)s - s.last_date > %(risk_days)s THEN 'at_risk'
            WHEN s.first_date > %(today)s - %(new_days)s THEN 'new'
            WHEN s.f_score >= 4 AND s.m_score >= 4 THEN 'key'
            WHEN s.f_score >= 3 THEN 'loyal'
            ELSE 'occasional' END AS rfm_segment
  FROM customers c
  LEFT JOIN scored s ON s.partner_id = c.partner_id
  LEFT JOIN payments pay ON pay.partner_id = c.partner_id
  LEFT JOIN services sv ON sv.partner_id = c.partner_id
"""


class ResPartner(models.Model):
    _inherit = "res.partner"

    # ------------------------------------------------------------------
    # Fields: written by the nightly job only (see ``_sd_insight_recompute``)
    # ------------------------------------------------------------------

    insight_first_purchase = fields.Date(string="First purchase", readonly=True, compute="_compute_sd_insight", store=True)
    insight_last_purchase = fields.Date(string="Last purchase", readonly=True, compute="_compute_sd_insight", store=True)
    insight_order_count = fields.Integer(string="Orders", readonly=True, compute="_compute_sd_insight", store=True)
    insight_revenue = fields.Float(string="Ordered amount", readonly=True, compute="_compute_sd_insight", store=True, digits=(16, 2))
    insight_frequency_days = fields.Float(
        string="Days between orders", readonly=True, compute="_compute_sd_insight", store=True, digits=(16, 1), aggregator="avg",
        help="Average number of days between two confirmed orders.",
    )
    insight_repeat_rate = fields.Float(
        string="Repeat purchases (%)", readonly=True, compute="_compute_sd_insight", store=True, digits=(16, 1), aggregator="avg",
        help="Share of the customer's confirmed orders that follow an earlier one.",
    )
    insight_avg_order = fields.Float(string="Average order", readonly=True, compute="_compute_sd_insight", store=True, digits=(16, 2), aggregator="avg")
    insight_pay_days = fields.Float(
        string="Days to pay", readonly=True, compute="_compute_sd_insight", store=True, digits=(16, 1), aggregator="avg",
        help="Average days from invoice date to the last reconciliation of paid invoices.",
    )
    insight_overdue_share = fields.Float(
        string="Overdue invoices (%)", readonly=True, compute="_compute_sd_insight", store=True, digits=(16, 1), aggregator="avg",
        help="Share of posted invoices paid after their due date or unpaid past it.",
    )
    insight_service_count = fields.Integer(string="Service requests", readonly=True, compute="_compute_sd_insight", store=True)
    insight_rating_avg = fields.Float(string="Average rating", readonly=True, compute="_compute_sd_insight", store=True, digits=(16, 2), aggregator="avg")
    rfm_recency = fields.Integer(string="Recency score", readonly=True, compute="_compute_sd_insight", store=True, aggregator="avg")
    rfm_frequency = fields.Integer(string="Frequency score", readonly=True, compute="_compute_sd_insight", store=True, aggregator="avg")
    rfm_monetary = fields.Integer(string="Monetary score", readonly=True, compute="_compute_sd_insight", store=True, aggregator="avg")
    rfm_segment = fields.Selection(RFM_SEGMENTS, string="RFM segment", readonly=True, compute="_compute_sd_insight", store=True, index=True)
    insight_date = fields.Datetime(string="Insight computed on", readonly=True, compute="_compute_sd_insight", store=True)

    # ------------------------------------------------------------------
    # Compute
    # ------------------------------------------------------------------

    def _compute_sd_insight(self):
        # Stored fields without dependencies: computed once, empty, when a
        # partner is created; the nightly job (``_sd_insight_recompute``) fills
        # them in SQL. Being computed keeps them out of imports and of the
        # partner merge, which copies plain fields only.
        for partner in self:
            for name in INSIGHT_FIELDS:
                partner[name] = False

    # ------------------------------------------------------------------
    # CRUD: the insight figures are not for clients to write
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        self._sd_check_insight_vals(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        self._sd_check_insight_vals([vals])
        return super().write(vals)

    def _sd_check_insight_vals(self, vals_list):
        # No way past for anyone: the nightly job writes these columns in SQL.
        for vals in vals_list:
            forbidden = set(INSIGHT_FIELDS) & set(vals)
            if forbidden:
                raise AccessError(_(
                    "Customer insight is computed from the registry; it cannot be written (%(fields)s).",
                    fields=", ".join(sorted(forbidden)),
                ))

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    @api.model
    def action_recompute_insight(self):
        """Recompute every customer's insight and RFM segment now (sales managers). Returns True."""
        if not self.env.user.has_group("sales_team.group_sale_manager"):
            raise AccessError(_("Only sales managers can recompute customer insight."))
        self.sudo()._sd_insight_recompute()
        return True

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    @api.model
    def _sd_insight_params(self):
        # sudo: documented settings, not secrets.
        get = self.env["ir.config_parameter"].sudo().get_param
        params = {}
        for key, default in RFM_DEFAULTS.items():
            try:
                params[key] = int(get(PARAM_PREFIX + key) or default)
            except ValueError:
                params[key] = default
        return params

    @api.model
    def _sd_insight_recompute(self, on_date=None):
        """Compute every customer's insight set-wise and store it on the partners.

        ``on_date`` is the reference day of recency and overdue (today by
        default). Contacts get the figures of their commercial partner, so
        domains on ``partner_id.rfm_segment`` work for any order.
        """
        today = on_date or fields.Date.context_today(self)
        params = self._sd_insight_params()
        self.env.flush_all()
        cr = self.env.cr
        cr.execute(SQL("DROP TABLE IF EXISTS sd_customer_insight_tmp"))
        cr.execute(SQL(
            "CREATE TEMP TABLE sd_customer_insight_tmp ON COMMIT DROP AS (%s)",
            SQL(INSIGHT_QUERY, **{
                "today": today,
                "window_start": today - timedelta(days=params["rfm_window_days"]),
                "new_days": params["rfm_new_days"],
                "risk_days": params["rfm_risk_days"],
                "lost_days": params["rfm_lost_days"],
            }),
        ))
        columns = [name for name in INSIGHT_FIELDS if name != "insight_date"]
        now = fields.Datetime.now()
        # Customers no longer measured (their orders cancelled...) lose their figures.
        cr.execute(SQL(
            """UPDATE res_partner p SET %s, insight_date = %s
                WHERE p.insight_date IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM sd_customer_insight_tmp t
                                   WHERE t.partner_id = p.commercial_partner_id)""",
            SQL(", ").join(SQL("%s = NULL", SQL.identifier(column)) for column in columns),
            now,
        ))
        cr.execute(SQL(
            """UPDATE res_partner p SET %s, insight_date = %s
                 FROM sd_customer_insight_tmp t
                WHERE p.commercial_partner_id = t.partner_id""",
            SQL(", ").join(SQL("%s = t.%s", SQL.identifier(column), SQL.identifier(column)) for column in columns),
            now,
        ))
        cr.execute(SQL("DROP TABLE sd_customer_insight_tmp"))
        self.invalidate_model(list(INSIGHT_FIELDS))
        return True

    @api.model
    def _cron_insight(self):
        """Nightly customer insight."""
        return self.sudo()._sd_insight_recompute()
