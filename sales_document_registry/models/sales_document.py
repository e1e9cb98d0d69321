import logging
from datetime import date, datetime, timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.osv import expression
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL, Query, date_utils

from ..tools import registry_access, registry_store
from .sales_document_mixin import DOC_TYPES

_logger = logging.getLogger(__name__)

# What the monthly roll-up (sales.document.summary) can answer.
SUMMARY_KEYS = set(registry_store.STAT_KEYS)
SUMMARY_AGGREGATES = {"__count": "doc_count:sum", "amount_total:sum": "amount_total:sum"}
# A page deeper than this in the default order is read without taking the top
# of each access alternative first (``_top_of_each_branch``).
BRANCH_ROWS_MAX = 2000
# The filters under which a page is taken from the top of each access
# alternative: those that keep most rows (type, status, company, archived),
# under which a walk of the date index would drop as many rows as without
# filter. A selective filter (customer, salesperson, tag, product) drives the
# query itself; repeated in every alternative it would cost more.
BRANCH_FILTER_FIELDS = frozenset({"doc_type", "state", "company_id", "res_model", "currency_id", "active"})

STATES = [
    ("draft", "Draft"),
    ("open", "In progress"),
    ("done", "Done"),
    ("cancelled", "Cancelled"),
]


def _split_own_customers(domain, groupby):
    """``domain`` for the roll-up, or None when it cannot answer.

    "Own documents or documents of own customers" (``user_id = u OR
    partner_user_id = u``, the audit addon's strict rule on the row), as one
    of the domain's conjuncts, becomes two disjoint parts of the roll-up: its
    plain rows of salesperson ``u``, and its rows per customer's salesperson
    ``u`` (which leave out the documents of ``u`` himself). The rest of the
    domain and the groups must then not name the salesperson (the rows per
    customer's salesperson do not hold it). Any other domain reads the plain
    rows only, and must not name the customer's salesperson.
    """
    parts = registry_access.conjuncts(domain)
    if parts is None:
        return None
    users, others = set(), []
    for part in parts:
        user = registry_access.own_or_customers_user(part)
        if user is None:
            others.append(part)
        else:
            users.add(user)
    named = {leaf[0] for part in others for leaf in part if expression.is_leaf(leaf)}
    if "partner_user_id" in named or len(users) > 1:
        return None
    if not users:
        return expression.AND([*others, [("by_customer", "=", False)]])
    if "user_id" in named or any(spec.partition(":")[0] == "user_id" for spec in groupby):
        return None
    user = users.pop()
    split = [
        "|", "&", ("by_customer", "=", False), ("user_id", "=", user),
        "&", ("by_customer", "=", True), ("partner_user_id", "=", user),
    ]
    return expression.AND([*others, split])


# One tag or one product, as the search view sends them, and the link table
# that holds its documents (see ``SalesDocument._search_links``).
LINK_LEAVES = {
    "tag_ids": registry_store.TAG_TABLE,
    "product_id": registry_store.PRODUCT_TABLE,
    "product_ids": registry_store.PRODUCT_TABLE,
}
LINK_OPERATORS = frozenset({"=", "!=", "in", "not in", "<", "<=", ">", ">="})


def _plain_value(value):
    """Whether ``value`` is a constant of a domain leaf (not a sub-query)."""
    if isinstance(value, (list, tuple)):
        return all(_plain_value(item) for item in value)
    return value is None or isinstance(value, (bool, int, float, str, date, datetime))


def _branches_under(domain, access):
    """The alternatives of ``access`` (see ``registry_access.branches``) when there are
    several and ``domain`` only filters on ``BRANCH_FILTER_FIELDS``; else None."""
    if any(
        expression.is_leaf(leaf) and leaf not in (expression.TRUE_LEAF, expression.FALSE_LEAF)
        and leaf[0] not in BRANCH_FILTER_FIELDS
        for leaf in domain or ()
    ):
        return None
    alternatives = registry_access.branches(access)
    if not alternatives or len(alternatives) < 2:
        return None
    return alternatives


def _read_from_an_index(alternative):
    """Whether the conjunction of leaves ``alternative`` names what a covering index of the
    row table is keyed on: one salesperson or customer's salesperson (or none), or the model."""
    return any(
        expression.is_leaf(leaf) and (
            leaf[0] in ("user_id", "partner_user_id") and leaf[1] == "="
            and (leaf[2] is False or registry_access._is_id(leaf[2]))
            or leaf[0] == "res_model" and leaf[1] in ("=", "in")
        )
        for leaf in alternative
    )


def _indexed_branches(alternatives):
    """``alternatives`` when there are several and each is read from an index; else None."""
    if alternatives and len(alternatives) > 1 and all(map(_read_from_an_index, alternatives)):
        return alternatives
    return None


def _whole_rows_of(domain):
    """Whether ``domain`` names one or a few values of a column whose index holds every
    column of the row (``registry_store.WHOLE_ROW_KEYS``: one customer's documents) and,
    besides, only columns of the row: its rows are then read from that index alone."""
    parts = registry_access.conjuncts(domain or [])
    if not parts:
        return False
    leaves = [leaf for part in parts for leaf in part if expression.is_leaf(leaf)]
    if any(leaf[0] not in registry_store.COLUMNS for leaf in leaves
           if leaf not in (expression.TRUE_LEAF, expression.FALSE_LEAF)):
        return False
    for part in parts:
        if len(part) != 1 or not expression.is_leaf(part[0]):
            continue
        name, operator, value = part[0]
        if name not in registry_store.WHOLE_ROW_KEYS:
            continue
        if operator == "=" and registry_access._is_id(value):
            return True
        if operator == "in" and isinstance(value, (list, tuple)) and value and all(map(registry_access._is_id, value)):
            return True
    return False


def _order_terms(order):
    """``order`` as comparable terms: ``"date DESC,id desc"`` and ``"date desc, id desc"`` are one order."""
    return [" ".join(term.lower().split()) for term in order.split(",")]


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
    partner_user_id = fields.Many2one(
        "res.users",
        string="Customer's Salesperson",
        readonly=True,
        help="The salesperson of the customer, which may differ from the document's.",
    )
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    company_id = fields.Many2one("res.company", string="Company", readonly=True)
    date = fields.Date(readonly=True)
    amount_total = fields.Monetary(string="Amount", readonly=True)
    currency_id = fields.Many2one("res.currency", string="Currency", readonly=True)
    state = fields.Selection(STATES, string="Status", readonly=True)
    sale_order_id = fields.Many2one("sale.order", string="Sales Order", readonly=True)
    # Not prefetched: reading other fields of the rows does not run the view's
    # sub-query for each (``registry_store.VIEW_COLUMNS``).
    sale_order_name = fields.Char(
        string="Order Reference",
        readonly=True,
        prefetch=False,
        help="The number of the sales order the document comes from.",
    )
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
            ids = tuple(value) if isinstance(value, (list, tuple)) else (value,)
            # Drive the search from the product index: the documents of one
            # product are a few thousand among a million. As a plain semi-join
            # the planner would walk the date index probing every row instead.
            self.env["sale.order.line"].flush_model(["product_id", "order_id"])
            self.env["stock.move"].flush_model(["product_id", "picking_id"])
            self.env["account.move.line"].flush_model(["product_id", "move_id", "display_type"])
            return [("id", "in", SQL(
                "(SELECT unnest(ARRAY(SELECT document_id FROM %s WHERE product_id IN %s)))",
                SQL.identifier(registry_store.PRODUCT_TABLE),
                ids,
            ))]
        return [("product_ids", operator, value)]

    # ------------------------------------------------------------------
    # Access: a row is visible only with read access to its document
    # ------------------------------------------------------------------

    @api.model
    def _document_access_domain(self):
        """Domain restricting rows to documents the current user may read.

        Per document model, its record rules: on the row itself when the
        row can answer them exactly (see ``tools/registry_access.py``),
        otherwise as a sub-query on the document table. Models whose rules
        read the same on the row share one condition (in the common case one
        condition for every model, without ``res_model``).
        """
        if self.env.su:
            return []
        sources = self._registry_layout().documents
        on_row = {}
        parts = []
        for source in sources:
            Model = self.env[source.model]
            if not Model.has_access("read"):
                continue
            rule_domain = self.env["ir.rule"]._compute_domain(source.model, "read")
            row_domain = registry_access.row_domain(source, rule_domain)
            if row_domain is None:
                query = Model.with_context(active_test=False)._search([])
                parts.append([("res_model", "=", source.model), ("res_id", "in", query)])
            else:
                on_row.setdefault(repr(row_domain), (row_domain, []))[1].append(source.model)
        for row_domain, model_names in on_row.values():
            leaf = [] if len(model_names) == len(sources) else [("res_model", "in", model_names)]
            parts.append(expression.AND([leaf, row_domain]) or expression.TRUE_DOMAIN)
        return expression.OR(parts) if parts else expression.FALSE_DOMAIN

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None):
        access = self._document_access_domain()
        linked = self._search_links(domain, access, offset, limit, order)
        if linked is not None:
            return linked
        if not access:
            return super()._search(domain, offset=offset, limit=limit, order=order)
        counted = self._union_of_branches(domain, access, offset, limit, order)
        if counted is not None:
            return counted
        top = self._top_of_each_branch(domain, access, offset, limit, order)
        domain = expression.AND([domain or [], access])
        if top is not None:
            domain = expression.AND([domain, [("id", "in", top)]])
        return super()._search(domain, offset=offset, limit=limit, order=order)

    @api.model
    def _top_of_each_branch(self, domain, access, offset, limit, order):
        """SQL of the ids that can be on a page of the default order, or None.

        A user who reads the registry through several rule alternatives (a
        salesperson: his orders and invoices, the unassigned ones, every
        delivery) sees rows that no one index holds in date order: a page
        read newest first walks the whole date index, dropping the rows of
        other salespeople, tens of thousands at ten million rows. The first
        ``offset + limit`` rows of the union of the alternatives are among the
        first ``offset + limit`` rows of each alternative, which its own index
        (salesperson and date, customer's salesperson and date, date) reads
        in order: the page is taken from those few (the default order ends
        with ``id``, so it is total and every alternative agrees with it).
        Only under no filter or filters that keep most rows
        (``BRANCH_FILTER_FIELDS``).
        """
        if not limit or offset + limit > BRANCH_ROWS_MAX or (order and _order_terms(order) != _order_terms(self._order)):
            return None
        alternatives = _branches_under(domain, access)
        if alternatives is None:
            return None
        wanted = offset + limit
        parts = [
            super(SalesDocument, self)._search(
                expression.AND([domain or [], alternative]), limit=wanted, order=self._order
            ).subselect()
            for alternative in alternatives
        ]
        return SQL("(%s)", SQL(" UNION ALL ").join(parts))

    @api.model
    def _search_links(self, domain, access, offset, limit, order):
        """The page (or bounded count) of one tag's or one product's documents, read from its link table; or None.

        A tag is on hundreds of thousands of documents at ten million rows. A
        page of them newest first, or the count up to the list's limit, read
        through the rows probes a row for every link and sorts them all. The
        links repeat the columns of their row that the default order, the
        record rules and the archive filter read (``registry_store.LINK_COLUMNS``),
        and their index holds them in that order: the page is the first
        matching entries of the index.

        Only for a bounded search in the default order (a list page) or in
        none (a count), whose domain is one tag or one product and, besides,
        conditions (the user's and the access rules') on those columns alone,
        compared to plain values; anything else goes through the rows. The
        result is a query over the link table that exposes ``id``, as the
        registry's own query would.
        """
        if not limit or (order and _order_terms(order) != _order_terms(self._order)):
            return None
        parts = registry_access.conjuncts(domain or [])
        if parts is None:
            return None
        linked = [part for part in parts if len(part) == 1 and expression.is_leaf(part[0]) and part[0][0] in LINK_LEAVES]
        if len(linked) != 1:
            return None
        name, operator, value = linked[0][0]
        table = LINK_LEAVES[name]
        if isinstance(value, (list, tuple)) and operator == "in" and len(value) == 1:
            value = value[0]
        elif operator != "=":
            return None
        if not registry_access._is_id(value):
            return None
        # The registry's own record rules too, should an integrator add some.
        own_rules = [] if self.env.su else self.env["ir.rule"]._compute_domain(self._name, "read")
        others = expression.AND([*(part for part in parts if part is not linked[0]), own_rules or []])
        rest = expression.AND([others, access or []])
        if expression.NOT_OPERATOR in rest:
            return None
        for leaf in rest:
            if not expression.is_leaf(leaf) or leaf in (expression.TRUE_LEAF, expression.FALSE_LEAF):
                continue
            column, comparison, operand = leaf
            if column not in registry_store.LINK_COLUMNS or comparison not in LINK_OPERATORS:
                return None
            # A rule the row cannot answer is a sub-query on the document table: on ``res_id``.
            if not _plain_value(operand) and not (
                column == "res_id" and comparison == "in" and isinstance(operand, Query)
            ):
                return None
        self.browse().check_access("read")
        alternatives = None
        if table in registry_store.LINK_BRANCH_COLUMNS and access and not order and not offset:
            alternatives = _indexed_branches(registry_access.branches(access))
        if alternatives:
            # A bounded count: the union of each alternative's first links, as
            # ``_union_of_branches`` takes them from the rows (each from the
            # link index on the salesperson, customer's salesperson or model).
            return self._union_of([
                self._link_query(table, value, expression.AND([others, alternative]), None, limit, 0).subselect()
                for alternative in alternatives
            ], limit)
        return self._link_query(table, value, rest, order, limit, offset)

    @api.model
    def _link_query(self, table, value, domain, order, limit, offset):
        """The query of the documents linked to ``value`` in the link ``table`` that meet ``domain``
        (conditions on the link's own columns only)."""
        conditions = self._where_calc(domain)
        # The links, with every column of the view under the model's table
        # name: the ORM's conditions and order read the link's own columns,
        # the view's rows are joined for the rest (a count never reads them:
        # the planner drops a left join to a primary key that nothing reads).
        links = SQL(
            "(SELECT l.document_id AS id, %(columns)s FROM %(table)s l LEFT JOIN %(rows)s r ON r.id = l.document_id "
            "WHERE l.%(key)s = %(value)s AND l.res_model IS NOT NULL)",
            columns=SQL(", ").join(
                SQL.identifier("l" if column in registry_store.LINK_COLUMNS else "r", column)
                for column in registry_store.VIEW_COLUMNS if column != "id"
            ),
            table=SQL.identifier(table),
            rows=SQL.identifier(self._table),
            key=SQL.identifier(registry_store.LINK_TABLES[table]),
            value=value,
        )
        query = Query(self.env, self._table, links)
        if conditions.where_clause:
            query.add_where(conditions.where_clause)
        if order:
            query.order = self._order_to_sql(order, query)
        query.limit = limit
        query.offset = offset
        return query

    @api.model
    def _union_of_branches(self, domain, access, offset, limit, order):
        """A bounded search in no order (the list's count up to its limit) as the
        union of the first ``limit`` rows of each rule alternative; or None.

        The strict salesperson reads his own documents and his customers'; a
        plain salesperson his own and the unassigned orders and invoices, and
        every delivery. No index holds all of them, and counting up to 10,001
        of them scanned the table until it had found as many (at ten million
        rows, tens of megabytes read from disk when the pages are cold). When
        every alternative names what a covering index is keyed on (a
        salesperson or customer's salesperson, none, or the model), its first
        ``limit`` rows are read from that index alone. Their union holds
        ``limit`` rows when the whole does, and every row when it does not:
        the same bounded count. The query exposes ``id`` only, which is all a
        count (or this model's ``search_fetch``) reads.
        """
        if order or offset or not limit:
            return None
        alternatives = _indexed_branches(_branches_under(domain, access))
        if alternatives is None:
            return None
        return self._union_of([
            super(SalesDocument, self)._search(expression.AND([domain or [], alternative]), limit=limit).subselect()
            for alternative in alternatives
        ], limit)

    @api.model
    def _union_of(self, parts, limit):
        """A query of the ids that the sub-queries ``parts`` give, each once, up to ``limit``."""
        query = Query(self.env, self._table, SQL("(%s)", SQL(" UNION ").join(SQL("(%s)", part) for part in parts)))
        query.limit = limit
        return query

    @api.model
    @api.readonly
    def search_fetch(self, domain, field_names, offset=0, limit=None, order=None):
        """The ids first, then their rows; one customer's rows at once.

        The ORM reads a page's columns in the statement that finds it: every
        row a filter or a rule rejects is then read from the table first. The
        ids alone are found in the registry's covering indexes (salesperson,
        customer's salesperson, model, links), rejected rows included, and
        only the page's rows are read, by primary key. One customer's
        documents are the exception: the customer's index holds every column
        of the row, so the page is read in the statement that finds it, from
        one range of that index, where the rows by primary key would be as
        many table pages. The access rules were applied by the search: the
        rows are read without checking them again.
        """
        query = self._search(domain, offset=offset, limit=limit, order=order or self._order)
        if query.is_empty():
            return self.browse()
        fields_to_fetch = self._determine_fields_to_fetch(field_names)
        if _whole_rows_of(domain):
            return self._fetch_query(query, fields_to_fetch)
        records = self.browse(query.get_result_ids())
        if records and fields_to_fetch:
            self._fetch_query(records._as_query(ordered=False), fields_to_fetch)
        return records

    def _check_access(self, operation):
        result = super()._check_access(operation)
        if result or self.env.su or not self._ids or operation != "read":
            return result
        domain = [("id", "in", self._ids)]
        # Rows just read from one customer's index (``search_fetch``) are checked in that
        # index too: by primary key, each would be a table page of its own, read again. The
        # key comes from the cache; the condition can only narrow what is visible.
        for key in registry_store.WHOLE_ROW_KEYS:
            field = self._fields[key]
            values = set(self.env.cache.get_values(self, field))
            if len(values) == 1 and None not in values and not any(self.env.cache.get_missing_ids(self, field)):
                domain.append((key, "=", values.pop()))
                break
        visible = self.browse(self.with_context(active_test=False)._search(domain))
        forbidden = self - visible
        if forbidden:
            return forbidden, lambda: self.env["ir.rule"]._make_access_error(operation, forbidden)
        return None

    # ------------------------------------------------------------------
    # Pivots over the whole registry: answered from the monthly roll-up
    # ------------------------------------------------------------------

    @api.model
    def _read_group(self, domain, groupby=(), aggregates=(), having=(), offset=0, limit=None, order=None):
        summary = self._summary_read_group(domain, groupby, aggregates, having, offset, limit, order)
        if summary is not None:
            return summary
        return super()._read_group(
            domain, groupby=groupby, aggregates=aggregates, having=having, offset=offset, limit=limit, order=order
        )

    @api.model
    def _summary_read_group(self, domain, groupby, aggregates, having, offset, limit, order):
        """The same result from ``sales.document.summary``, or None when it cannot answer.

        It can when every condition (the user's and the access rules') and
        every group are on the roll-up's keys, dates only by whole months, and
        the aggregates are the count and the amount sum: the usual pivots and
        graphs of the whole registry, which otherwise read every row.
        """
        if having or not self.has_access("read"):
            return None
        # The cheap checks first: most pivots the roll-up cannot answer are
        # told apart by their groups, aggregates or order alone.
        summary_groupby = [self._summary_groupby(spec) for spec in groupby]
        summary_aggregates = [SUMMARY_AGGREGATES.get(spec) for spec in aggregates]
        summary_order = self._summary_order(order, groupby, aggregates) if order else None
        if None in summary_groupby or None in summary_aggregates or (order and summary_order is None):
            return None
        full_domain = expression.AND([domain or [], self._document_access_domain()])
        full_domain = _split_own_customers(full_domain, groupby)
        if full_domain is None:
            return None
        summary_domain = self._summary_domain(full_domain, extra_keys=("by_customer", "partner_user_id"))
        if summary_domain is None:
            return None
        # sudo: the access rules are already in the domain: the roll-up itself has
        # no record rules to apply.
        Summary = self.env["sales.document.summary"].sudo()
        return Summary._read_group(
            summary_domain,
            groupby=summary_groupby,
            aggregates=summary_aggregates,
            having=[("doc_count:sum", "!=", 0)] if summary_groupby else (),
            offset=offset,
            limit=limit,
            order=summary_order,
        )

    @api.model
    def _summary_domain(self, domain, extra_keys=()):
        """``domain`` on the roll-up's fields, or None when a condition is finer than it.

        ``extra_keys``: other roll-up fields the domain may name as they are.
        """
        result = []
        for leaf in expression.normalize_domain(domain):
            if not isinstance(leaf, (list, tuple)):
                result.append(leaf)
                continue
            name, operator, value = leaf
            if leaf in (expression.TRUE_LEAF, expression.FALSE_LEAF) or name in SUMMARY_KEYS or name in extra_keys:
                result.append(leaf)
            elif name == "date" and operator in ("=", "!=") and value is False:
                result.append(("month", operator, False))
            elif name == "date" and operator in (">=", "<", "<=", ">") and value:
                # Whole months only: from a first day, or up to a last day
                # (what the search view's period filters send).
                day = fields.Date.to_date(value)
                first = day.replace(day=1)
                if operator in (">=", "<") and day != first:
                    return None
                if operator in ("<=", ">") and day != date_utils.end_of(day, "month"):
                    return None
                result.append(("month", operator, first))
            else:
                return None
        return result

    @api.model
    def _summary_groupby(self, spec):
        name, _sep, granularity = spec.partition(":")
        if name in SUMMARY_KEYS and not granularity:
            return name
        if name == "date" and granularity in ("month", "quarter", "year"):
            return f"month:{granularity}"
        return None

    @api.model
    def _summary_order(self, order, groupby, aggregates):
        """``order`` on the roll-up's terms, or None when it names something else."""
        terms = []
        for term in order.split(","):
            spec, _sep, direction = term.strip().partition(" ")
            if spec in aggregates and spec in SUMMARY_AGGREGATES:
                spec = SUMMARY_AGGREGATES[spec]
            elif spec in groupby:
                spec = self._summary_groupby(spec)
            else:
                return None
            terms.append(f"{spec} {direction}".strip())
        return ", ".join(terms)

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
        return self.env["sales.document.flow"]._action_open(record)

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
        layout = self._registry_layout()
        new = registry_store.create_tables(cr)
        registry_store.install_triggers(cr, layout)
        if new or registry_store.stored_version(cr) != layout.signature():
            registry_store.rebuild(cr, layout)
        # The ORM reads projections of the store tables (the row table's with the
        # order's number): the planner sees through them and uses the tables' indexes.
        cr.execute(SQL("CREATE VIEW %s AS (%s)", SQL.identifier(self._table), registry_store.view_query(layout)))
        cr.execute(SQL(
            "CREATE VIEW sales_document_tag_rel AS (SELECT document_id, tag_id FROM %s)",
            SQL.identifier(registry_store.TAG_TABLE),
        ))
        cr.execute(SQL(
            "CREATE VIEW sales_document_product_rel AS (SELECT document_id, product_id FROM %s)",
            SQL.identifier(registry_store.PRODUCT_TABLE),
        ))

    @api.model
    def _registry_layout(self):
        """The document, tag and line tables the registry is built from.

        Addons add sources by extending this, each with a kind (1 to 9) of its
        own; how registry ids derive from it is the store's business.
        """
        return registry_store.DEFAULT_LAYOUT

    @api.model
    def _registry_unregister_source(self, model_name):
        """Take the documents of ``model_name`` out of the registry, with their tags and products.

        For the uninstall hook of the addon that declared the source (its
        ``_registry_layout`` extension is still loaded then): drops the
        source's triggers and deletes its rows; the other documents stay.
        """
        layout = self._registry_layout()
        kinds = {source.kind for source in layout.documents if source.model == model_name}
        self.env.flush_all()
        registry_store.remove_sources(self.env.cr, layout, kinds)
        self.env.invalidate_all()
        return bool(kinds)

    @api.model
    def _rebuild_store(self):
        """Refill the registry from the document tables.

        The triggers keep the registry exact on every write; this is for
        bulk loads that bypass triggers (``session_replication_role =
        replica``) and for repairs. Returns the differences found before the
        rebuild (see :func:`registry_store.differences`).
        """
        before = self._store_differences()
        self._refill_store()
        return before

    @api.model
    def _refill_store(self):
        """Refill the registry from the document tables, without comparing first."""
        self.env.flush_all()
        registry_store.rebuild(self.env.cr, self._registry_layout())
        self.env.invalidate_all()

    @api.model
    def action_verify_store(self):
        """Compare the registry with the documents, repair it if they differ, and say so.

        For administrators (Settings > Sales > Sales Documents): after a
        bulk load that bypassed the triggers, or to prove the registry exact.
        """
        if not self.env.user.has_group("base.group_system"):
            raise AccessError(_("Only administrators can verify and repair the sales document registry."))
        found = self._repair_store()
        if any(found.values()):
            message = _(
                "The registry differed from the documents (%(rows)s rows, %(tags)s tags, %(products)s products, "
                "%(summary)s summary lines) and has been rebuilt.",
                **found,
            )
            kind = "warning"
        else:
            message = _("The registry matches the documents exactly.")
            kind = "success"
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": _("Sales document registry"), "message": message, "type": kind, "sticky": False},
        }

    @api.model
    def _repair_store(self):
        """Rebuild the store when it differs from the documents; return what differed."""
        found = self._store_differences()
        if any(found.values()):
            _logger.warning("Sales document registry differed from the documents (%s): rebuilding it", found)
            # sudo: rebuilding is an internal repair: it touches no document.
            self.sudo()._refill_store()
        return found

    @api.model
    def _cron_verify_store(self):
        """Scheduled check: repair the registry if anything bypassed its triggers."""
        self._repair_store()

    @api.model
    def _cron_resync_partner_users(self):
        """Scheduled step: the rows of customers whose salesperson changed, set again.

        A change of a customer's salesperson sets their rows at once; a
        document written concurrently and committed just before the change
        took its lock is invisible to it, and is set here (see
        ``tools/registry_store.py``). A change made through Odoo runs this
        job as soon as it commits. When a document of one of those customers
        is written at the same moment, the job gives way (the customers stay
        queued) and runs again a minute later.
        """
        try:
            with self.env.cr.savepoint(flush=False):
                return registry_store.resync_partner_users(self.env.cr)
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
            _logger.info("Registry: customers' salespeople not set again (concurrent writes); retrying in a minute")
            self._trigger_resync_partner_users(fields.Datetime.now() + timedelta(minutes=1))
            return 0

    @api.model
    def _trigger_resync_partner_users(self, at=None):
        """Run :meth:`_cron_resync_partner_users` as soon as possible, or at ``at``."""
        cron = self.env.ref("sales_document_registry.ir_cron_sales_document_resync_partner_users",
                            raise_if_not_found=False)
        if cron:
            cron._trigger(at)

    @api.model
    def _store_differences(self):
        """Rows missing from or extra in the registry store (0 when exact)."""
        self.env.flush_all()
        return registry_store.differences(self.env.cr, self._registry_layout())
