from odoo import _, api, fields, models
from odoo.osv import expression
from odoo.tools import SQL

from .sales_document_mixin import DOC_TYPES

# Registry ids are ``document id * 10 + kind``: unique across the four tables,
# and each table has an expression index on its own formula (see the init()
# of each model) so that reading registry rows by id stays an index lookup.
KIND_OFFSET = {
    "sale.order": 1,
    "stock.picking": 2,
    "account.move": 3,
    "account.payment": 4,
}

STATES = [
    ("draft", "Draft"),
    ("open", "In progress"),
    ("done", "Done"),
    ("cancelled", "Cancelled"),
]


class SalesDocument(models.Model):
    """One read-only row per sales document, whatever its model.

    A SQL view over orders, deliveries and returns of orders, customer
    invoices and credit notes, and customer payments. A user sees a row only
    when they may read the document behind it: the search adds, per model,
    the record rules of that model (see :meth:`_search`).
    """

    _name = "sales.document"
    _description = "Sales Document"
    _auto = False
    _order = "date desc, id desc"
    _rec_name = "name"

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------

    doc_type = fields.Selection(DOC_TYPES, string="Type", readonly=True)
    res_model = fields.Char(string="Model", readonly=True)
    res_id = fields.Many2oneReference(string="Record", model_field="res_model", readonly=True)
    name = fields.Char(string="Number", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    company_id = fields.Many2one("res.company", string="Company", readonly=True)
    date = fields.Date(readonly=True)
    amount_total = fields.Monetary(string="Amount", readonly=True)
    currency_id = fields.Many2one("res.currency", string="Currency", readonly=True)
    state = fields.Selection(STATES, string="Status", readonly=True)
    sale_order_id = fields.Many2one("sale.order", string="Sales Order", readonly=True)
    active = fields.Boolean(readonly=True)
    tag_ids = fields.Many2many(
        "crm.tag", "sales_document_tag_rel", "document_id", "tag_id", string="Tags", readonly=True
    )
    product_ids = fields.Many2many(
        "product.product",
        "sales_document_product_rel",
        "document_id",
        "product_id",
        string="Products",
        readonly=True,
    )
    product_id = fields.Many2one(
        "product.product",
        string="Product",
        compute="_compute_product_id",
        search="_search_product_id",
        help="Search: documents with this product on any line. Shown: the first product.",
    )

    # ------------------------------------------------------------------
    # Compute / search
    # ------------------------------------------------------------------

    @api.depends("product_ids")
    def _compute_product_id(self):
        for doc in self:
            doc.product_id = doc.product_ids[:1]

    def _search_product_id(self, operator, value):
        if operator in ("=", "in") and value:
            # Look the documents up in the link view first: a sub-query on the
            # UNION ALL view would be joined with every registry row.
            ids = value if isinstance(value, (list, tuple)) else [value]
            self.env["sale.order.line"].flush_model(["product_id", "order_id"])
            self.env["stock.move"].flush_model(["product_id", "picking_id"])
            self.env["account.move.line"].flush_model(["product_id", "move_id", "display_type"])
            self.env.cr.execute(SQL(
                "SELECT DISTINCT document_id FROM sales_document_product_rel WHERE product_id IN %s",
                tuple(ids),
            ))
            return [("id", "in", [row[0] for row in self.env.cr.fetchall()])]
        return [("product_ids", operator, value)]

    # ------------------------------------------------------------------
    # Access: a row is visible only with read access to its document
    # ------------------------------------------------------------------

    @api.model
    def _document_access_domain(self):
        """Domain restricting rows to documents the current user may read."""
        if self.env.su:
            return []
        parts = []
        for model in KIND_OFFSET:
            Model = self.env[model]
            if not Model.has_access("read"):
                continue
            leaf = [("res_model", "=", model)]
            rule_domain = self.env["ir.rule"]._compute_domain(model, "read")
            if rule_domain and self._is_company_domain(rule_domain):
                # A row's company is its document's company: apply the
                # multi-company rule to the row itself, without a sub-query.
                leaf = expression.AND([leaf, rule_domain])
            elif rule_domain:
                # Other record rules (own documents...) decide as a sub-query.
                query = Model.with_context(active_test=False)._search([])
                leaf = expression.AND([leaf, [("res_id", "in", query)]])
            parts.append(leaf)
        return expression.OR(parts) if parts else expression.FALSE_DOMAIN

    @api.model
    def _is_company_domain(self, domain):
        """Whether every condition of ``domain`` is on ``company_id`` alone."""
        return all(
            not isinstance(leaf, (list, tuple)) or leaf[0] == "company_id"
            for leaf in domain
        )

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None):
        access = self._document_access_domain()
        if access:
            domain = expression.AND([domain or [], access])
        return super()._search(domain, offset=offset, limit=limit, order=order)

    def _check_access(self, operation):
        result = super()._check_access(operation)
        if result or self.env.su or not self._ids or operation != "read":
            return result
        visible = self.browse(self.with_context(active_test=False)._search([("id", "in", self._ids)]))
        forbidden = self - visible
        if forbidden:
            return forbidden, lambda: self.env["ir.rule"]._make_access_error(operation, forbidden)
        return None

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_open_document(self):
        """Open the real document behind the row."""
        self.ensure_one()
        record = self.env[self.res_model].browse(self.res_id)
        record.check_access("read")
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "views": [(False, "form")],
            "target": "current",
        }

    def action_open_document_flow(self):
        """Show the chain of documents this row belongs to."""
        self.ensure_one()
        record = self.env[self.res_model].browse(self.res_id)
        return self.env["sales.document.flow"].action_open(record)

    @api.model
    def action_open_for_partner(self, partner_ids):
        """Registry rows of customers (and their contacts), newest first."""
        partners = self.env["res.partner"].browse(partner_ids)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sales_document_registry.sales_document_action"
        )
        action["domain"] = [("partner_id", "in", partners.commercial_partner_id.ids)]
        action["context"] = {"search_default_group_by_doc_type": 0}
        action["display_name"] = _("Sales documents of %(customer)s", customer=partners[:1].display_name)
        return action

    # ------------------------------------------------------------------
    # Schema
    # ------------------------------------------------------------------

    def init(self):
        cr = self.env.cr
        for name in ("sales_document_tag_rel", "sales_document_product_rel", self._table):
            cr.execute(SQL("DROP VIEW IF EXISTS %s CASCADE", SQL.identifier(name)))
        cr.execute(SQL("CREATE VIEW %s AS (%s)", SQL.identifier(self._table), self._registry_query()))
        cr.execute(SQL(
            """CREATE VIEW sales_document_tag_rel AS (
                SELECT order_id * 10 + 1 AS document_id, tag_id FROM sale_order_tag_rel
                UNION ALL
                SELECT picking_id * 10 + 2, tag_id FROM stock_picking_crm_tag_rel
                UNION ALL
                SELECT move_id * 10 + 3, tag_id FROM account_move_crm_tag_rel
                UNION ALL
                SELECT payment_id * 10 + 4, tag_id FROM account_payment_crm_tag_rel
            )"""
        ))
        cr.execute(SQL(
            """CREATE VIEW sales_document_product_rel AS (
                SELECT DISTINCT order_id * 10 + 1 AS document_id, product_id
                  FROM sale_order_line WHERE product_id IS NOT NULL
                UNION ALL
                SELECT DISTINCT picking_id * 10 + 2, product_id
                  FROM stock_move WHERE picking_id IS NOT NULL
                UNION ALL
                SELECT DISTINCT move_id * 10 + 3, product_id
                  FROM account_move_line
                 WHERE product_id IS NOT NULL AND display_type = 'product'
            )"""
        ))

    @api.model
    def _registry_query(self):
        return SQL(
            """
            SELECT so.id * 10 + 1 AS id,
                   'order' AS doc_type,
                   'sale.order' AS res_model,
                   so.id AS res_id,
                   so.name AS name,
                   so.commercial_partner_id AS partner_id,
                   so.user_id AS user_id,
                   so.team_id AS team_id,
                   so.company_id AS company_id,
                   so.date_order::date AS date,
                   so.amount_total AS amount_total,
                   so.currency_id AS currency_id,
                   CASE so.state
                        WHEN 'sale' THEN CASE WHEN so.locked THEN 'done' ELSE 'open' END
                        WHEN 'cancel' THEN 'cancelled'
                        ELSE 'draft' END AS state,
                   so.id AS sale_order_id,
                   so.active AS active
              FROM sale_order so
            UNION ALL
            SELECT p.id * 10 + 2,
                   'delivery',
                   'stock.picking',
                   p.id,
                   p.name,
                   p.sd_commercial_partner_id,
                   p.sd_user_id,
                   p.sd_team_id,
                   p.company_id,
                   COALESCE(p.date_done, p.scheduled_date)::date,
                   p.sd_amount_total,
                   p.sd_currency_id,
                   CASE p.state
                        WHEN 'done' THEN 'done'
                        WHEN 'cancel' THEN 'cancelled'
                        WHEN 'draft' THEN 'draft'
                        ELSE 'open' END,
                   p.sale_id,
                   TRUE
              FROM stock_picking p
             WHERE p.sale_id IS NOT NULL
            UNION ALL
            SELECT m.id * 10 + 3,
                   CASE m.move_type WHEN 'out_refund' THEN 'credit_note' ELSE 'invoice' END,
                   'account.move',
                   m.id,
                   m.name,
                   m.commercial_partner_id,
                   m.invoice_user_id,
                   m.team_id,
                   m.company_id,
                   COALESCE(m.invoice_date, m.date),
                   m.amount_total,
                   m.currency_id,
                   CASE WHEN m.state = 'cancel' THEN 'cancelled'
                        WHEN m.state = 'draft' THEN 'draft'
                        WHEN m.payment_state IN ('paid', 'in_payment', 'reversed') THEN 'done'
                        ELSE 'open' END,
                   m.sd_sale_order_id,
                   TRUE
              FROM account_move m
             WHERE m.move_type IN ('out_invoice', 'out_refund')
            UNION ALL
            SELECT pay.id * 10 + 4,
                   'payment',
                   'account.payment',
                   pay.id,
                   pay.name,
                   pay.sd_commercial_partner_id,
                   pay.sd_user_id,
                   pay.sd_team_id,
                   pay.company_id,
                   pay.date,
                   pay.amount,
                   pay.currency_id,
                   CASE pay.state
                        WHEN 'paid' THEN 'done'
                        WHEN 'in_process' THEN 'open'
                        WHEN 'draft' THEN 'draft'
                        ELSE 'cancelled' END,
                   pay.sd_sale_order_id,
                   TRUE
              FROM account_payment pay
             WHERE pay.payment_type = 'inbound' AND pay.partner_type = 'customer'
            """
        )
