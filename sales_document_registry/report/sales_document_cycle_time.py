from odoo import api, fields, models, tools
from odoo.osv import expression
from odoo.tools import SQL


def _days(end, start):
    """Days between two stage timestamps, empty until both are passed, never negative."""
    return SQL(
        "CASE WHEN %(end)s IS NOT NULL AND %(start)s IS NOT NULL "
        "THEN GREATEST(EXTRACT(EPOCH FROM (%(end)s - %(start)s)) / 86400.0, 0) END",
        end=end, start=start,
    )


class SalesDocumentCycleTime(models.Model):
    """Time each order spent in each stage, from its stage trail (read-only SQL view)."""

    _name = "sales.document.cycle.time"
    _description = "Sales Order Cycle Time"
    _auto = False
    _order = "date desc"
    _rec_name = "order_id"
    _depends = {
        "sale.order": [
            "active", "state", "date_order", "user_id", "team_id", "commercial_partner_id", "company_id",
            "stage_review_requested_date", "stage_approved_date", "stage_confirmed_date",
            "stage_delivered_date", "stage_invoiced_date", "stage_paid_date",
        ],
    }

    order_id = fields.Many2one("sale.order", string="Order", readonly=True)
    date = fields.Datetime(string="Order date", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales team", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", string="Company", readonly=True)
    state = fields.Selection(
        [("draft", "Quotation"), ("sent", "Quotation Sent"), ("sale", "Sales Order"), ("cancel", "Cancelled")],
        string="Status", readonly=True,
    )
    approval_days = fields.Float(
        string="Waiting for approval (days)", readonly=True, aggregator="avg",
        help="From the approval request to the approval.",
    )
    order_to_delivery_days = fields.Float(
        string="Order to delivery (days)", readonly=True, aggregator="avg",
        help="From the confirmation to the last delivery.",
    )
    delivery_to_invoice_days = fields.Float(
        string="Delivery to invoice (days)", readonly=True, aggregator="avg",
        help="From the last delivery to the full invoicing.",
    )
    invoice_to_paid_days = fields.Float(
        string="Invoice to payment (days)", readonly=True, aggregator="avg",
        help="From the full invoicing to the full payment.",
    )
    total_days = fields.Float(
        string="Order to payment (days)", readonly=True, aggregator="avg",
        help="From the order date to the full payment.",
    )
    delivered = fields.Boolean(readonly=True)
    paid = fields.Boolean(readonly=True)

    # ------------------------------------------------------------------
    # Access: a row is visible only with read access to its order
    # ------------------------------------------------------------------

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None):
        # The view reads sale_order directly: without this, record rules of
        # orders (own customers only) would not apply to its rows, aggregates
        # or exports. Every read path (search, read, read_group, export)
        # comes through here.
        if not self.env.su:
            Order = self.env["sale.order"]
            if Order.has_access("read"):
                readable = Order.with_context(active_test=False)._search([])
                domain = expression.AND([domain or [], [("order_id", "in", readable)]])
            else:
                domain = expression.FALSE_DOMAIN
        return super()._search(domain, offset=offset, limit=limit, order=order)

    def _check_access(self, operation):
        result = super()._check_access(operation)
        if result or self.env.su or not self._ids or operation != "read":
            return result
        visible = self.browse(self._search([("id", "in", self._ids)]))
        forbidden = self - visible
        if forbidden:
            return forbidden, lambda: self.env["ir.rule"]._make_access_error(operation, forbidden)
        return None

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        confirmed = SQL("COALESCE(so.stage_confirmed_date, so.date_order)")
        self.env.cr.execute(SQL(
            """
            CREATE OR REPLACE VIEW %(view)s AS (
                SELECT so.id AS id,
                       so.id AS order_id,
                       so.date_order AS date,
                       so.user_id AS user_id,
                       so.team_id AS team_id,
                       so.commercial_partner_id AS partner_id,
                       so.company_id AS company_id,
                       so.state AS state,
                       %(approval)s AS approval_days,
                       %(delivery)s AS order_to_delivery_days,
                       %(invoice)s AS delivery_to_invoice_days,
                       %(paid)s AS invoice_to_paid_days,
                       %(total)s AS total_days,
                       so.stage_delivered_date IS NOT NULL AS delivered,
                       so.stage_paid_date IS NOT NULL AS paid
                  FROM sale_order so
                 WHERE so.active
                   AND (so.state = 'sale' OR so.stage_review_requested_date IS NOT NULL)
            )
            """,
            view=SQL.identifier(self._table),
            approval=_days(SQL("so.stage_approved_date"), SQL("so.stage_review_requested_date")),
            delivery=_days(SQL("so.stage_delivered_date"), confirmed),
            invoice=_days(SQL("so.stage_invoiced_date"), SQL("so.stage_delivered_date")),
            paid=_days(SQL("so.stage_paid_date"), SQL("so.stage_invoiced_date")),
            total=_days(SQL("so.stage_paid_date"), SQL("so.date_order")),
        ))
