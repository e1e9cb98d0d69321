"""Copies of complete order-to-cash flows, made set-wise in SQL.

Running one order-to-cash flow through the ORM takes from a third of a
second (in bulk) to a second (as a user) here; a benchmark that needs ten
thousand of them cannot wait hours. This module copies flows that really ran
through the ORM (the *templates*: every addon hook ran on them, so every
table holds real, consistent rows) as many times as wanted, with one
``INSERT ... SELECT`` per table and batch:

- every column is copied from the template row, so NOT NULL columns,
  amounts, states and stored computed values are what the ORM made;
- ids come from each table's own sequence, and every foreign key between
  copied rows points at the copy of its target: order,
  order lines, procurement group, deliveries and returns, stock moves and
  move lines, valuation layers, invoices, credit notes, payments and their
  journal entries, journal items, partial and full reconciliations, and the
  many2many links between them (invoiced order lines, taxes, tags, payments
  matched with invoices, chained stock moves);
- each copy gets its own customer (and contact), salesperson, sales team,
  tag, products (a stocked product for a stocked one, a service for a
  service), dates (shifted back by whole days), customer reference, and new
  numbers from the sequences the ORM uses: the order and picking sequences
  are advanced, journal entries continue their journal's numbering of the
  entry's period, so documents created afterwards through the ORM never
  collide with the copies;
- texts that name other documents (origins, references, memos, labels of
  journal items, valuation descriptions) are rewritten to the copies'
  numbers, and product descriptions to the copy's products.

Foreign keys are checked and triggers run as for any insert (the registry's
store is kept by triggers, for instance). Each batch then moves stock on the
quants the way its copied move lines moved it, so that every committed batch
is consistent; :meth:`FlowCloner.finish` has the ORM recompute the stored
fields that depend on what was varied.

Not copied: chatter (messages, followers, activities), the project's audit
trail and backup journal entries (the copies never went through the ORM),
and wizard rows. :attr:`FlowCloner.uncloned` lists the rows of other tables
that point at the templates.
"""

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from odoo import fields
from odoo.tools import SQL

# Tables copied, in insertion order, with their model. A foreign key to a
# table later in this order is inserted empty and filled in once that table
# is copied (order <-> procurement group, journal entry <-> payment).
CLONED_TABLES = (
    ("procurement_group", "procurement.group"),
    ("sale_order", "sale.order"),
    ("sale_order_line", "sale.order.line"),
    ("stock_picking", "stock.picking"),
    ("stock_move", "stock.move"),
    ("stock_move_line", "stock.move.line"),
    ("account_move", "account.move"),
    ("account_payment", "account.payment"),
    ("account_full_reconcile", "account.full.reconcile"),
    ("account_move_line", "account.move.line"),
    ("account_partial_reconcile", "account.partial.reconcile"),
    ("stock_valuation_layer", "stock.valuation.layer"),
)

# Text columns that may name the flow's documents (order, customer
# reference, pickings, journal entries): rewritten to the copy's names.
RENAMED_COLUMNS = {
    "procurement_group": ("name",),
    "sale_order": ("origin", "reference"),
    "stock_picking": ("origin",),
    "stock_move": ("name", "origin", "reference"),
    "stock_move_line": ("reference",),
    "stock_valuation_layer": ("description",),
    "account_move": ("ref", "payment_reference", "invoice_origin"),
    "account_move_line": ("name", "ref", "move_name"),
    "account_payment": ("name", "memo", "payment_reference"),
}

# Text columns that describe the row's product: rewritten to the new product.
PRODUCT_TEXT_COLUMNS = {
    "sale_order_line": ("name",),
    "stock_move": ("name", "description_picking"),
    "stock_move_line": ("description_picking",),
    "stock_valuation_layer": ("description",),
    "account_move_line": ("name",),
}

# Columns reset on copies: unique tokens and hashes are made again on demand.
CLEARED_COLUMNS = {
    "sale_order": ("access_token",),
    "account_move": ("access_token", "inalterable_hash", "secure_sequence_number"),
}

# Referenced tables whose values vary per copy, and the clone column holding
# the copy's value (the template's is in ``tpl_<column>``).
VARIED_TABLES = {
    "res_users": "user_id",
    "crm_team": "team_id",
    "crm_tag": "tag_id",
}

# Stored fields recomputed by the ORM on the copied orders, when the model
# has them: they depend on the products or the customer reference, which vary.
RECOMPUTED_FIELDS = {
    "sale.order": ("sd_line_signature", "client_order_ref_normalized"),
}

DATE_TYPES = {"date"}
TIMESTAMP_TYPES = {"timestamp without time zone", "timestamp with time zone"}
SEPARATOR = "\x1f"  # joins the rename pairs passed to SQL; never in a document name


class FlowCloneError(Exception):
    """The templates cannot be copied; the message says why."""


@dataclass
class TemplateFlow:
    """One flow made by the ORM, and what its copies vary."""

    index: int
    order_id: int
    rows: dict  # table -> sorted ids of the rows of this flow
    customer_id: int
    contact_id: int | None  # the ordering contact, when not the customer itself
    user_id: int | None
    team_id: int | None
    tag_id: int | None
    product_ids: list  # products on the order lines (stocked and services)
    net_stock: dict  # product id -> units that left the internal locations
    names: dict  # table -> {id: name} of the documents whose numbers are renewed
    client_ref: str | None
    move_dates: dict  # account move id -> (date, journal id, move type, is payment)
    max_days_back: int | None  # copies older than this would be overdue (open invoices)
    counts: dict = field(default_factory=dict)  # document kind -> count in this flow


@dataclass
class ClonePlan:
    """What one copy of a template changes."""

    template: int  # index in FlowCloner.templates
    days_back: int
    customer_id: int
    contact_id: int | None
    user_id: int | None
    team_id: int | None
    tag_id: int | None
    client_ref: str | None
    products: dict  # template product id -> product id of the copy


def quoted(name):
    """A table or column name as an SQL identifier."""
    return SQL.identifier(name)


class FlowCloner:
    """Copy template flows (orders made by the ORM, with everything downstream).

    ``FlowCloner(env, order_ids)`` reads the flows of the given orders and
    checks that each is self-contained (no row of one flow points at a row of
    another, or at a copied table outside the flow); :meth:`clone` makes a
    batch of copies and moves their stock; :meth:`finish` recomputes what
    depends on the varied values; :meth:`close` drops the temporary tables.
    """

    def __init__(self, env, order_ids, vary_products=True):
        self.env = env
        self.cr = env.cr
        self.timings = defaultdict(float)
        self.copied = defaultdict(int)  # table -> rows copied
        self.order_ids = []  # ids of the copied orders
        self.template_of = {}  # copied order id -> template order id
        self.tables = [t for t, _m in CLONED_TABLES if self._table_exists(t)]
        self.models = {t: m for t, m in CLONED_TABLES if t in self.tables}
        self.position = {t: i for i, t in enumerate(self.tables)}
        self.columns = {t: self._columns(t) for t in self.tables}
        self.foreign_keys = self._foreign_keys()
        self.relations = self._relations()
        self.currency_digits = env.company.currency_id.decimal_places
        env.flush_all()
        self._create_work_tables()
        try:
            self.templates = [self._read_template(i, oid) for i, oid in enumerate(order_ids)]
            self._store_templates()
            self._check_self_contained()
            self.vary_products = vary_products and not self._real_time_valuation()
            self.uncloned = self._uncloned_references()
        except Exception:
            self.close()
            raise

    # ------------------------------------------------------------------
    # Schema
    # ------------------------------------------------------------------

    def _table_exists(self, table):
        self.cr.execute(SQL("SELECT to_regclass(%s) IS NOT NULL", table))
        return self.cr.fetchone()[0]

    def _columns(self, table):
        self.cr.execute(SQL(
            """SELECT column_name, data_type FROM information_schema.columns
                WHERE table_schema = current_schema() AND table_name = %s
                  AND is_generated = 'NEVER'
                ORDER BY ordinal_position""",
            table,
        ))
        return self.cr.fetchall()

    def _foreign_keys(self):
        """table -> {column: referenced table}, single-column foreign keys of the copied tables."""
        self.cr.execute(SQL(
            """SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text
                 FROM pg_constraint c
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                WHERE c.contype = 'f' AND cardinality(c.conkey) = 1
                  AND c.conrelid::regclass::text = ANY(%s)""",
            self.tables,
        ))
        keys = defaultdict(dict)
        for table, column, target in self.cr.fetchall():
            keys[table][column] = target
        return keys

    def _relations(self):
        """Many2many link tables of the copied models: (table, column1, model table 1, column2, table 2)."""
        found = {}
        for table, model in self.models.items():
            Model = self.env[model]
            for fld in Model._fields.values():
                if fld.type != "many2many" or not fld.store or fld.relation in found:
                    continue
                if not self._table_exists(fld.relation):
                    continue
                found[fld.relation] = (
                    fld.relation, fld.column1, table, fld.column2, self.env[fld.comodel_name]._table,
                )
        return list(found.values())

    def _real_time_valuation(self):
        """Whether valuation layers carry journal entries (their amounts then depend on the product)."""
        if "stock_valuation_layer" not in self.tables:
            return False
        self.cr.execute(SQL(
            """SELECT EXISTS (SELECT 1 FROM stock_valuation_layer v
                 JOIN fc_template t ON t.tbl = 'stock_valuation_layer' AND t.id = v.id
                WHERE v.account_move_id IS NOT NULL)"""
        ))
        return self.cr.fetchone()[0]

    # ------------------------------------------------------------------
    # Templates
    # ------------------------------------------------------------------

    def _ids(self, query):
        self.cr.execute(query)
        return sorted({row[0] for row in self.cr.fetchall() if row[0]})

    def _read_template(self, index, order_id):
        cr = self.cr
        rows = {}
        rows["sale_order"] = [order_id]
        rows["sale_order_line"] = self._ids(SQL("SELECT id FROM sale_order_line WHERE order_id = %s", order_id))
        rows["stock_picking"] = self._ids(SQL("SELECT id FROM stock_picking WHERE sale_id = %s", order_id))
        rows["procurement_group"] = self._ids(SQL(
            """SELECT procurement_group_id FROM sale_order WHERE id = %s
               UNION SELECT group_id FROM stock_picking WHERE sale_id = %s""",
            order_id, order_id,
        ))
        rows["stock_move"] = self._ids(SQL(
            "SELECT id FROM stock_move WHERE picking_id = ANY(%s) OR sale_line_id = ANY(%s)",
            rows["stock_picking"], rows["sale_order_line"],
        ))
        rows["stock_move_line"] = self._ids(SQL(
            "SELECT id FROM stock_move_line WHERE move_id = ANY(%s)", rows["stock_move"]))
        invoices = self._ids(SQL(
            """SELECT l.move_id FROM sale_order_line_invoice_rel r
                 JOIN account_move_line l ON l.id = r.invoice_line_id
                WHERE r.order_line_id = ANY(%s)""",
            rows["sale_order_line"],
        ))
        # Payments: those linked to the invoices, and those whose entries are
        # reconciled with the invoices' items.
        payments = self._ids(SQL(
            """SELECT payment_id FROM account_move__account_payment WHERE invoice_id = ANY(%(inv)s)
               UNION
               SELECT m.origin_payment_id
                 FROM account_move_line l
                 JOIN account_partial_reconcile p ON l.id IN (p.debit_move_id, p.credit_move_id)
                 JOIN account_move_line o ON o.id IN (p.debit_move_id, p.credit_move_id) AND o.id != l.id
                 JOIN account_move m ON m.id = o.move_id
                WHERE l.move_id = ANY(%(inv)s)""",
            inv=invoices,
        ))
        rows["account_payment"] = payments
        moves = set(invoices) | set(self._ids(SQL(
            "SELECT move_id FROM account_payment WHERE id = ANY(%s)", payments)))
        if "stock_valuation_layer" in self.tables:
            rows["stock_valuation_layer"] = self._ids(SQL(
                "SELECT id FROM stock_valuation_layer WHERE stock_move_id = ANY(%s)", rows["stock_move"]))
            moves |= set(self._ids(SQL(
                "SELECT account_move_id FROM stock_valuation_layer WHERE id = ANY(%s)",
                rows["stock_valuation_layer"],
            )))
        rows["account_move"] = sorted(moves)
        rows["account_move_line"] = self._ids(SQL(
            "SELECT id FROM account_move_line WHERE move_id = ANY(%s)", rows["account_move"]))
        rows["account_partial_reconcile"] = self._ids(SQL(
            """SELECT id FROM account_partial_reconcile
                WHERE debit_move_id = ANY(%(l)s) OR credit_move_id = ANY(%(l)s)""",
            l=rows["account_move_line"],
        ))
        rows["account_full_reconcile"] = self._ids(SQL(
            """SELECT full_reconcile_id FROM account_move_line WHERE id = ANY(%s)
               UNION SELECT full_reconcile_id FROM account_partial_reconcile WHERE id = ANY(%s)""",
            rows["account_move_line"], rows["account_partial_reconcile"],
        ))
        rows = {t: rows.get(t, []) for t in self.tables}

        order = self.env["sale.order"].browse(order_id)
        customer = order.partner_id.commercial_partner_id
        names = {
            "sale_order": {order.id: order.name},
            "stock_picking": {p.id: p.name for p in self.env["stock.picking"].browse(rows["stock_picking"])},
            "account_move": {
                m.id: m.name for m in self.env["account.move"].browse(rows["account_move"])
                if m.name and m.name != "/" and m.state == "posted"
            },
        }
        moves = self.env["account.move"].browse(rows["account_move"])
        move_dates = {
            m.id: (m.date, m.journal_id.id, m.move_type, bool(m.origin_payment_id)) for m in moves
        }
        today = fields.Date.context_today(order)
        open_dues = [
            m.invoice_date_due for m in moves
            if m.move_type == "out_invoice" and m.state == "posted"
            and not m.currency_id.is_zero(m.amount_residual) and m.invoice_date_due
        ]
        max_days_back = max(0, min((d - today).days for d in open_dues)) if open_dues else None
        cr.execute(SQL(
            """SELECT product_id,
                      SUM(CASE WHEN src.usage = 'internal' THEN quantity_product_uom ELSE 0 END)
                    - SUM(CASE WHEN dst.usage = 'internal' THEN quantity_product_uom ELSE 0 END)
                 FROM stock_move_line l
                 JOIN stock_location src ON src.id = l.location_id
                 JOIN stock_location dst ON dst.id = l.location_dest_id
                WHERE l.id = ANY(%s) AND l.state = 'done'
                GROUP BY product_id""",
            rows["stock_move_line"],
        ))
        net_stock = {product: float(qty) for product, qty in cr.fetchall()}
        pickings = self.env["stock.picking"].browse(rows["stock_picking"])
        counts = {
            "orders": 1,
            "deliveries": len(pickings.filtered(lambda p: p.picking_type_code == "outgoing")),
            "returns": len(pickings.filtered(lambda p: p.picking_type_code == "incoming")),
            "invoices": len(moves.filtered(lambda m: m.move_type == "out_invoice")),
            "credit_notes": len(moves.filtered(lambda m: m.move_type == "out_refund")),
            "payments": len(payments),
            "partial_payments": len(moves.filtered(
                lambda m: m.move_type == "out_invoice" and m.payment_state == "partial")),
            "refund_payments": len(self.env["account.payment"].browse(payments).filtered(
                lambda p: p.payment_type == "outbound")),
        }
        return TemplateFlow(
            index=index,
            order_id=order_id,
            rows=rows,
            customer_id=customer.id,
            contact_id=order.partner_id.id if order.partner_id != customer else None,
            user_id=order.user_id.id or None,
            team_id=order.team_id.id or None,
            tag_id=order.tag_ids[:1].id or None,
            product_ids=order.order_line.product_id.ids,
            net_stock=net_stock,
            names=names,
            client_ref=order.client_order_ref or None,
            move_dates=move_dates,
            max_days_back=max_days_back,
            counts=counts,
        )

    def _create_work_tables(self):
        self.cr.execute(SQL(
            """DROP TABLE IF EXISTS fc_template, fc_clone, fc_name, fc_product;
               CREATE TEMP TABLE fc_template (tbl varchar, id integer, flow integer);
               CREATE TEMP TABLE fc_clone (
                   clone_no integer PRIMARY KEY, flow integer, days integer, shift interval,
                   customer_id integer, contact_id integer, user_id integer, team_id integer,
                   tag_id integer, client_ref varchar, customer_label varchar, contact_label varchar,
                   tpl_customer_id integer, tpl_contact_id integer, tpl_user_id integer,
                   tpl_team_id integer, tpl_tag_id integer, tpl_customer_label varchar,
                   tpl_contact_label varchar, olds text[], news text[]);
               CREATE TEMP TABLE fc_name (
                   tbl varchar, old_id integer, clone_no integer, name varchar,
                   seq_prefix varchar, seq_number integer);
               CREATE TEMP TABLE fc_product (
                   clone_no integer, old_id integer, new_id integer, old_label varchar,
                   new_label varchar, old_short varchar, new_short varchar, new_cost numeric)"""
        ))
        # One pass over the names to rewrite: each old name becomes a marker
        # first, so that a new name containing another old name is left alone.
        self.cr.execute(SQL(
            """CREATE OR REPLACE FUNCTION pg_temp.fc_rename(value text, olds text[], news text[])
               RETURNS text LANGUAGE plpgsql IMMUTABLE AS $fc$
               DECLARE
                   i integer;
                   hits integer[] := '{}';
               BEGIN
                   IF value IS NULL OR olds IS NULL THEN
                       RETURN value;
                   END IF;
                   FOR i IN 1 .. coalesce(array_length(olds, 1), 0) LOOP
                       IF strpos(value, olds[i]) > 0 THEN
                           value := replace(value, olds[i], chr(1) || i || chr(2));
                           hits := hits || i;
                       END IF;
                   END LOOP;
                   FOREACH i IN ARRAY hits LOOP
                       value := replace(value, chr(1) || i || chr(2), news[i]);
                   END LOOP;
                   RETURN value;
               END $fc$"""
        ))

    def _store_templates(self):
        tables, ids, flows = [], [], []
        for template in self.templates:
            for table, table_ids in template.rows.items():
                tables += [table] * len(table_ids)
                ids += table_ids
                flows += [template.index] * len(table_ids)
        self.cr.execute(SQL(
            """INSERT INTO fc_template SELECT * FROM unnest(%s::varchar[], %s::int[], %s::int[]);
               CREATE INDEX ON fc_template (tbl, id); ANALYZE fc_template""",
            tables, ids, flows,
        ))
        self.cr.execute(SQL("SELECT tbl, id FROM fc_template GROUP BY tbl, id HAVING count(*) > 1 LIMIT 1"))
        shared = self.cr.fetchone()
        if shared:
            raise FlowCloneError(f"row {shared[1]} of {shared[0]} belongs to several template flows")

    def _check_self_contained(self):
        """Every reference from a template row to a copied table stays inside its flow."""
        problems = []
        for table in self.tables:
            for column, target in self.foreign_keys.get(table, {}).items():
                if target not in self.position:
                    continue
                self.cr.execute(SQL(
                    """SELECT t.id, t.%(col)s FROM %(table)s t
                         JOIN fc_template s ON s.tbl = %(name)s AND s.id = t.id
                        WHERE t.%(col)s IS NOT NULL AND NOT EXISTS (
                              SELECT 1 FROM fc_template r
                               WHERE r.tbl = %(target)s AND r.id = t.%(col)s AND r.flow = s.flow)
                        LIMIT 1""",
                    col=quoted(column), table=quoted(table), name=table, target=target,
                ))
                row = self.cr.fetchone()
                if row:
                    problems.append(f"{table}.{column} of row {row[0]} points at {target} {row[1]}")
        for relation, column1, table1, column2, table2 in self.relations:
            if table2 not in self.position:
                continue
            self.cr.execute(SQL(
                """SELECT r.%(c1)s, r.%(c2)s FROM %(rel)s r
                     JOIN fc_template s ON s.tbl = %(t1)s AND s.id = r.%(c1)s
                    WHERE NOT EXISTS (SELECT 1 FROM fc_template o
                                       WHERE o.tbl = %(t2)s AND o.id = r.%(c2)s AND o.flow = s.flow)
                    LIMIT 1""",
                c1=quoted(column1), c2=quoted(column2), rel=quoted(relation), t1=table1, t2=table2,
            ))
            row = self.cr.fetchone()
            if row:
                problems.append(f"{relation} links {table1} {row[0]} to {table2} {row[1]} of another flow")
        if problems:
            raise FlowCloneError("the template flows are not self-contained: " + "; ".join(problems))

    def _uncloned_references(self):
        """``{"table.column": rows}``: rows of other tables pointing at template rows."""
        self.cr.execute(SQL(
            """SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text
                 FROM pg_constraint c
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                WHERE c.contype = 'f' AND cardinality(c.conkey) = 1
                  AND c.confrelid::regclass::text = ANY(%s)
                  AND NOT c.conrelid::regclass::text = ANY(%s)""",
            self.tables, self.tables + [r[0] for r in self.relations],
        ))
        found = {}
        for table, column, target in self.cr.fetchall():
            self.cr.execute(SQL(
                """SELECT count(*) FROM %(table)s x
                    WHERE x.%(col)s IN (SELECT id FROM fc_template WHERE tbl = %(target)s)""",
                table=quoted(table), col=quoted(column), target=target,
            ))
            count = self.cr.fetchone()[0]
            if count:
                found[f"{table}.{column}"] = count
        return found

    # ------------------------------------------------------------------
    # Cloning
    # ------------------------------------------------------------------

    def clone(self, plans):
        """Copy the templates once per plan (a :class:`ClonePlan`); return the new order ids."""
        if not plans:
            return []
        self.env.flush_all()
        started = time.perf_counter()
        self._load_clones(plans)
        self._load_names(plans)
        self._build_maps()
        self.timings["prepare"] += time.perf_counter() - started
        for table in self.tables:
            started = time.perf_counter()
            self.copied[table] += self._insert(table)
            self._fill_deferred(table)
            self.timings[table] += time.perf_counter() - started
        started = time.perf_counter()
        for relation in self.relations:
            self.copied[relation[0]] += self._insert_links(*relation)
        self.timings["links"] += time.perf_counter() - started
        # The journals' numbering keeps, per transaction, the last number it
        # gave (sequence.mixin); numbers were taken here without it: forget it.
        self.env["account.move"]._get_sequence_cache().clear()
        self.cr.execute(SQL("SELECT new_id, old_id FROM fc_map_sale_order ORDER BY new_id"))
        pairs = self.cr.fetchall()
        order_ids = [new for new, _old in pairs]
        self.order_ids += order_ids
        self.template_of.update(pairs)
        self.env.invalidate_all()  # rows were written behind the ORM's back
        started = time.perf_counter()
        self._move_stock()
        self.timings["stock"] += time.perf_counter() - started
        return order_ids

    def _move_stock(self):
        """Move stock on the quants as the copied done move lines moved it.

        Quants that exist (the usual case after the templates) are updated in
        one statement; a missing one is made by ``_update_available_quantity``,
        as a validated move would.
        """
        if "stock_move_line" not in self.position:
            return
        self.cr.execute(SQL(
            """SELECT moved.product_id, moved.location_id, SUM(moved.qty)
                 FROM (SELECT l.product_id, l.location_id, -l.quantity_product_uom AS qty
                         FROM fc_map_stock_move_line m JOIN stock_move_line l ON l.id = m.new_id
                        WHERE l.state = 'done'
                       UNION ALL
                       SELECT l.product_id, l.location_dest_id, l.quantity_product_uom
                         FROM fc_map_stock_move_line m JOIN stock_move_line l ON l.id = m.new_id
                        WHERE l.state = 'done') moved
                 JOIN product_product p ON p.id = moved.product_id
                 JOIN product_template pt ON pt.id = p.product_tmpl_id
                WHERE pt.is_storable
                GROUP BY moved.product_id, moved.location_id
               HAVING SUM(moved.qty) != 0"""
        ))
        deltas = {(product, location): qty for product, location, qty in self.cr.fetchall()}
        if not deltas:
            return
        keys = list(deltas)
        self.cr.execute(SQL(
            """WITH delta AS (
                   SELECT * FROM unnest(%s::int[], %s::int[], %s::numeric[]) AS d(product_id, location_id, qty)
               ), target AS (
                   SELECT DISTINCT ON (q.product_id, q.location_id) q.id, d.qty
                     FROM stock_quant q
                     JOIN delta d ON d.product_id = q.product_id AND d.location_id = q.location_id
                    WHERE q.lot_id IS NULL AND q.package_id IS NULL AND q.owner_id IS NULL
                    ORDER BY q.product_id, q.location_id, q.id
               )
               UPDATE stock_quant q SET quantity = q.quantity + target.qty
                 FROM target WHERE q.id = target.id
               RETURNING q.product_id, q.location_id""",
            [k[0] for k in keys], [k[1] for k in keys], [deltas[k] for k in keys],
        ))
        for key in self.cr.fetchall():
            deltas.pop(key, None)
        self.env["stock.quant"].invalidate_model(["quantity"])
        Quant = self.env["stock.quant"].sudo()  # system bookkeeping of copied moves
        for (product_id, location_id), qty in sorted(deltas.items()):
            Quant._update_available_quantity(
                self.env["product.product"].browse(product_id),
                self.env["stock.location"].browse(location_id),
                float(qty),
            )
        self.env.flush_all()

    def _load_clones(self, plans):
        partners = self.env["res.partner"].browse({
            pid for t in self.templates for pid in (t.customer_id, t.contact_id) if pid
        } | {pid for p in plans for pid in (p.customer_id, p.contact_id) if pid})
        labels = {p.id: p.display_name for p in partners}
        columns = defaultdict(list)
        for number, plan in enumerate(plans):
            tpl = self.templates[plan.template]
            values = {
                "clone_no": number,
                "flow": tpl.index,
                "days": plan.days_back,
                "customer_id": plan.customer_id,
                "contact_id": plan.contact_id or plan.customer_id,
                "user_id": plan.user_id,
                "team_id": plan.team_id,
                "tag_id": plan.tag_id,
                "client_ref": plan.client_ref,
                "customer_label": labels[plan.customer_id],
                "contact_label": labels[plan.contact_id or plan.customer_id],
                "tpl_customer_id": tpl.customer_id,
                "tpl_contact_id": tpl.contact_id,
                "tpl_user_id": tpl.user_id,
                "tpl_team_id": tpl.team_id,
                "tpl_tag_id": tpl.tag_id,
                "tpl_customer_label": labels[tpl.customer_id],
                "tpl_contact_label": labels[tpl.contact_id] if tpl.contact_id else None,
            }
            for name, value in values.items():
                columns[name].append(value)
        ints = ("clone_no", "flow", "days", "customer_id", "contact_id", "user_id", "team_id",
                "tag_id", "tpl_customer_id", "tpl_contact_id", "tpl_user_id", "tpl_team_id",
                "tpl_tag_id")
        texts = ("client_ref", "customer_label", "contact_label", "tpl_customer_label",
                 "tpl_contact_label")
        self.cr.execute(SQL("TRUNCATE fc_clone, fc_name, fc_product"))
        self.cr.execute(SQL(
            """INSERT INTO fc_clone (%(names)s, shift)
               SELECT *, make_interval(days => u.days)
                 FROM unnest(%(arrays)s) AS u(%(names)s)""",
            names=SQL(", ").join(quoted(n) for n in ints + texts),
            arrays=SQL(", ").join(
                [SQL("%s::int[]", columns[n]) for n in ints]
                + [SQL("%s::varchar[]", columns[n]) for n in texts]
            ),
        ))
        self._load_products(plans)

    def _load_products(self, plans):
        if not self.vary_products:
            return
        wanted = {pid for plan in plans for pair in plan.products.items() for pid in pair}
        products = self.env["product.product"].browse(wanted)
        info = {p.id: (p.display_name, p.name, p.standard_price) for p in products}
        rows = defaultdict(list)
        for number, plan in enumerate(plans):
            for old, new in plan.products.items():
                if old == new:
                    continue
                rows["clone_no"].append(number)
                rows["old_id"].append(old)
                rows["new_id"].append(new)
                rows["old_label"].append(info[old][0])
                rows["new_label"].append(info[new][0])
                rows["old_short"].append(info[old][1])
                rows["new_short"].append(info[new][1])
                rows["new_cost"].append(info[new][2])
        self.cr.execute(SQL(
            """INSERT INTO fc_product
               SELECT * FROM unnest(%s::int[], %s::int[], %s::int[], %s::varchar[],
                                    %s::varchar[], %s::varchar[], %s::varchar[], %s::numeric[]);
               CREATE INDEX IF NOT EXISTS fc_product_idx ON fc_product (old_id, clone_no);
               ANALYZE fc_product""",
            rows["clone_no"], rows["old_id"], rows["new_id"], rows["old_label"],
            rows["new_label"], rows["old_short"], rows["new_short"], rows["new_cost"],
        ))

    def _load_names(self, plans):
        """New numbers for the orders, pickings and journal entries of the copies."""
        env = self.env
        names = {}  # (table, old id, clone number) -> (name, prefix, number)
        # Orders: the order sequence, as sale.order.create uses it.
        sequence = env["ir.sequence"].search([
            ("code", "=", "sale.order"), ("company_id", "in", [env.company.id, False]),
        ], order="company_id", limit=1)
        new_names = reserve_sequence(sequence, len(plans))
        for number, plan in enumerate(plans):
            names[("sale_order", self.templates[plan.template].order_id, number)] = (
                new_names[number], None, None)
        # Pickings: the sequence of each picking's operation type.
        by_sequence = defaultdict(list)
        for number, plan in enumerate(plans):
            tpl = self.templates[plan.template]
            for picking in env["stock.picking"].browse(tpl.rows["stock_picking"]):
                by_sequence[picking.picking_type_id.sequence_id].append((picking.id, number))
        for sequence, items in by_sequence.items():
            for (picking_id, number), name in zip(items, reserve_sequence(sequence, len(items))):
                names[("stock_picking", picking_id, number)] = (name, None, None)
        # Journal entries: the journal's numbering of the period of the new date.
        names.update(self._move_names(plans))
        # Rename pairs of each copy, longest old name first.
        olds, news = [], []
        for number, plan in enumerate(plans):
            tpl = self.templates[plan.template]
            pairs = {}
            for table, by_id in tpl.names.items():
                for old_id, old_name in by_id.items():
                    new = names.get((table, old_id, number))
                    if new and old_name:
                        pairs[old_name] = new[0]
            if tpl.client_ref and plan.client_ref:
                pairs[tpl.client_ref] = plan.client_ref
            ordered = sorted(pairs, key=len, reverse=True)
            olds.append(SEPARATOR.join(ordered))
            news.append(SEPARATOR.join(pairs[o] for o in ordered))
        self.cr.execute(SQL(
            """UPDATE fc_clone c SET olds = string_to_array(u.olds, %(sep)s),
                                     news = string_to_array(u.news, %(sep)s)
                 FROM unnest(%(numbers)s::int[], %(olds)s::text[], %(news)s::text[]) AS u(clone_no, olds, news)
                WHERE c.clone_no = u.clone_no""",
            sep=SEPARATOR, numbers=list(range(len(plans))), olds=olds, news=news,
        ))
        keys = list(names)
        self.cr.execute(SQL(
            """INSERT INTO fc_name
               SELECT * FROM unnest(%s::varchar[], %s::int[], %s::int[], %s::varchar[],
                                    %s::varchar[], %s::int[]);
               CREATE INDEX IF NOT EXISTS fc_name_idx ON fc_name (tbl, old_id, clone_no);
               ANALYZE fc_name""",
            [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys],
            [names[k][0] for k in keys], [names[k][1] for k in keys], [names[k][2] for k in keys],
        ))

    def _move_names(self, plans):
        """Names of the copied posted journal entries, numbered per journal and period.

        For each journal, kind of entry and month of the new dates, a probe
        entry asks the journal's own numbering (``_get_next_sequence_format``)
        for the format and the last number of that period; the copies then
        take the following numbers, in date order.
        """
        Move = self.env["account.move"]
        split = re.compile(Move._make_regex_non_capturing(Move._sequence_fixed_regex.replace("?P<seq>", "")))
        entries = []
        for number, plan in enumerate(plans):
            tpl = self.templates[plan.template]
            for move_id in tpl.names.get("account_move", {}):
                day, journal_id, move_type, is_payment = tpl.move_dates[move_id]
                entries.append((day - timedelta(days=plan.days_back), number, move_id,
                                journal_id, move_type, is_payment))
        entries.sort()
        formats = {}
        counters = {}
        names = {}
        for day, number, move_id, journal_id, move_type, is_payment in entries:
            refund = move_type in ("out_refund", "in_refund")
            period = (journal_id, refund, is_payment, day.year, day.month)
            if period not in formats:
                probe = Move.with_context(is_payment=is_payment).new({
                    "journal_id": journal_id,
                    "date": day,
                    "move_type": move_type,
                    "company_id": self.env.company.id,
                })
                formats[period] = probe._get_next_sequence_format()
            format_string, values = formats[period]
            prefix = format_string.split("{seq")[0].format(**values)
            key = (journal_id, prefix)
            counters[key] = max(counters.get(key, 0), values["seq"]) + 1
            name = format_string.format(**dict(values, seq=counters[key]))
            match = split.match(name)
            names[("account_move", move_id, number)] = (
                name, name[:match.start(1)], int(match.group(1) or 0))
        return names

    def _build_maps(self):
        """``fc_map_<table>``: for each copied row, its template row, copy number and new id.

        New ids are drawn from the table's own sequence, row by row in the
        order of the copies and of the template ids (so that, within a copy,
        new ids keep the order of the template's: reconciliation numbers rely
        on it), which stays correct whatever else writes to the table meanwhile.
        """
        for table in self.tables:
            self.cr.execute(SQL("SELECT pg_get_serial_sequence(%s, 'id')", table))
            sequence = self.cr.fetchone()[0]
            self.cr.execute(SQL(
                """DROP TABLE IF EXISTS %(map)s;
                   CREATE TEMP TABLE %(map)s AS
                   SELECT s.old_id, s.clone_no, nextval(%(sequence)s::regclass)::integer AS new_id
                     FROM (SELECT t.id AS old_id, c.clone_no
                             FROM fc_clone c JOIN fc_template t ON t.flow = c.flow AND t.tbl = %(table)s
                            ORDER BY c.clone_no, t.id) s;
                   CREATE INDEX ON %(map)s (old_id, clone_no);
                   ANALYZE %(map)s""",
                map=map_table(table), sequence=sequence, table=table,
            ))

    def _insert(self, table):
        joins = []
        product_alias = None
        if self.vary_products and self.foreign_keys[table].get("product_id") == "product_product":
            product_alias = "pm"
            joins.append(SQL(
                "LEFT JOIN fc_product pm ON pm.old_id = t.product_id AND pm.clone_no = m.clone_no"))
        if table in ("sale_order", "stock_picking", "account_move"):
            joins.append(SQL(
                "LEFT JOIN fc_name nm ON nm.tbl = %s AND nm.old_id = t.id AND nm.clone_no = m.clone_no",
                table,
            ))
        names, exprs = [], []
        for column, data_type in self.columns[table]:
            names.append(quoted(column))
            exprs.append(self._expression(table, column, data_type, joins, product_alias))
        self.cr.execute(SQL(
            """INSERT INTO %(table)s (%(names)s)
               SELECT %(exprs)s FROM %(map)s m
                 JOIN %(table)s t ON t.id = m.old_id
                 JOIN fc_clone c ON c.clone_no = m.clone_no
                 %(joins)s""",
            table=quoted(table),
            names=SQL(", ").join(names),
            exprs=SQL(", ").join(exprs),
            map=map_table(table),
            joins=SQL(" ").join(joins),
        ))
        return self.cr.rowcount

    def _expression(self, table, column, data_type, joins, product_alias):
        """SQL giving the copy's value of ``column`` (template row ``t``, copy ``c``, map ``m``)."""
        col = SQL("t.%s", quoted(column))
        if column == "id":
            return SQL("m.new_id")
        if column in CLEARED_COLUMNS.get(table, ()):
            return SQL("NULL")
        special = self._special(table, column, col, product_alias)
        if special is not None:
            return special
        target = self.foreign_keys[table].get(column)
        if target in self.position:
            if self.position[target] > self.position[table]:
                return SQL("NULL")  # filled in by _fill_deferred once the target is copied
            alias = f"r{len(joins)}"
            joins.append(SQL(
                "LEFT JOIN %(map)s %(a)s ON %(a)s.old_id = %(col)s AND %(a)s.clone_no = m.clone_no",
                map=map_table(target), a=quoted(alias), col=col,
            ))
            return SQL("COALESCE(%s.new_id, %s)", quoted(alias), col)
        if target:
            varied = self._varied(target, col, product_alias if column == "product_id" else None)
            if varied is not None:
                return varied
        if data_type in DATE_TYPES:
            return SQL("%s - c.days", col)
        if data_type in TIMESTAMP_TYPES:
            return SQL("%s - c.shift", col)
        expr = col
        if column in RENAMED_COLUMNS.get(table, ()):
            expr = SQL("pg_temp.fc_rename(%s, c.olds, c.news)", expr)
        if product_alias and column in PRODUCT_TEXT_COLUMNS.get(table, ()):
            expr = SQL(
                """CASE WHEN pm.new_id IS NULL THEN %(e)s
                        WHEN strpos(%(e)s, pm.old_label) > 0 THEN replace(%(e)s, pm.old_label, pm.new_label)
                        ELSE replace(%(e)s, pm.old_short, pm.new_short) END""",
                e=expr,
            )
        return expr

    def _varied(self, target, col, product_alias):
        if target == "res_partner":
            return SQL(
                "CASE %(c)s WHEN c.tpl_customer_id THEN c.customer_id "
                "WHEN c.tpl_contact_id THEN c.contact_id ELSE %(c)s END",
                c=col,
            )
        if target in VARIED_TABLES:
            name = VARIED_TABLES[target]
            return SQL("CASE %(c)s WHEN c.%(tpl)s THEN c.%(new)s ELSE %(c)s END",
                       c=col, tpl=quoted(f"tpl_{name}"), new=quoted(name))
        if target == "product_product" and product_alias:
            return SQL("COALESCE(pm.new_id, %s)", col)
        return None

    def _special(self, table, column, col, product_alias):
        """Columns with their own rule: numbers, references, costs."""
        if (table, column) in (("sale_order", "name"), ("stock_picking", "name"),
                               ("account_move", "name")):
            return SQL("COALESCE(nm.name, %s)", col)
        if (table, column) == ("account_move", "sequence_prefix"):
            return SQL("COALESCE(nm.seq_prefix, %s)", col)
        if (table, column) == ("account_move", "sequence_number"):
            return SQL("COALESCE(nm.seq_number, %s)", col)
        if (table, column) == ("sale_order", "client_order_ref"):
            return SQL("CASE WHEN %s IS NULL THEN NULL ELSE c.client_ref END", col)
        if (table, column) == ("account_move", "invoice_partner_display_name"):
            return SQL(
                "CASE %(c)s WHEN c.tpl_customer_label THEN c.customer_label "
                "WHEN c.tpl_contact_label THEN c.contact_label ELSE %(c)s END",
                c=col,
            )
        if (table, column) == ("account_move_line", "matching_number"):
            # The number of a full reconciliation is its id; of a partial one,
            # 'P' and the smallest partial id of the group.
            return SQL(
                """CASE WHEN %(c)s ~ '^[0-9]+$' THEN COALESCE((
                            SELECT f.new_id FROM fc_map_account_full_reconcile f
                             WHERE f.old_id = %(c)s::integer AND f.clone_no = m.clone_no)::varchar, %(c)s)
                        WHEN %(c)s ~ '^P[0-9]+$' THEN 'P' || COALESCE((
                            SELECT p.new_id FROM fc_map_account_partial_reconcile p
                             WHERE p.old_id = substr(%(c)s, 2)::integer AND p.clone_no = m.clone_no)::varchar,
                            substr(%(c)s, 2))
                        ELSE %(c)s END""",
                c=col,
            )
        if product_alias and table == "stock_valuation_layer" and column in (
                "unit_cost", "value", "remaining_value"):
            digits = self.currency_digits
            value = {
                "unit_cost": SQL("pm.new_cost"),
                "value": SQL("round(t.quantity * pm.new_cost, %s)", digits),
                "remaining_value": SQL("round(t.remaining_qty * pm.new_cost, %s)", digits),
            }[column]
            return SQL("CASE WHEN pm.new_id IS NULL OR %s IS NULL THEN %s ELSE %s END", col, col, value)
        if product_alias and (table, column) == ("stock_move", "price_unit"):
            return SQL("CASE WHEN pm.new_id IS NULL OR %s IS NULL THEN %s ELSE pm.new_cost END", col, col)
        return None

    def _fill_deferred(self, table):
        """Point the references to ``table`` that were inserted empty at the copies of ``table``."""
        for source in self.tables[:self.position[table]]:
            for column, target in self.foreign_keys.get(source, {}).items():
                if target != table:
                    continue
                self.cr.execute(SQL(
                    """UPDATE %(source)s d SET %(col)s = r.new_id
                         FROM %(smap)s m
                         JOIN %(source)s t ON t.id = m.old_id
                         JOIN %(tmap)s r ON r.old_id = t.%(col)s AND r.clone_no = m.clone_no
                        WHERE d.id = m.new_id AND t.%(col)s IS NOT NULL""",
                    source=quoted(source), col=quoted(column),
                    smap=map_table(source), tmap=map_table(table),
                ))

    def _insert_links(self, relation, column1, table1, column2, table2):
        """Copy the many2many links of the template rows of ``table1``."""
        if table2 in self.position:
            other = SQL("COALESCE(r2.new_id, r.%s)", quoted(column2))
            join = SQL(
                "LEFT JOIN %s r2 ON r2.old_id = r.%s AND r2.clone_no = m.clone_no",
                map_table(table2), quoted(column2),
            )
        else:
            other = self._varied(table2, SQL("r.%s", quoted(column2)), "pm" if self.vary_products else None)
            join = SQL(
                "LEFT JOIN fc_product pm ON pm.old_id = r.%s AND pm.clone_no = m.clone_no",
                quoted(column2),
            ) if table2 == "product_product" and self.vary_products else SQL("")
            if other is None:
                other = SQL("r.%s", quoted(column2))
        self.cr.execute(SQL(
            """INSERT INTO %(rel)s (%(c1)s, %(c2)s)
               SELECT m.new_id, %(other)s FROM %(rel)s r
                 JOIN %(map)s m ON m.old_id = r.%(c1)s
                 JOIN fc_clone c ON c.clone_no = m.clone_no
                 %(join)s
               ON CONFLICT DO NOTHING""",
            rel=quoted(relation), c1=quoted(column1), c2=quoted(column2), other=other,
            map=map_table(table1), join=join,
        ))
        return self.cr.rowcount

    # ------------------------------------------------------------------
    # After the copies
    # ------------------------------------------------------------------

    def finish(self, recompute_batch=2000):
        """Have the ORM recompute the stored fields that depend on what the copies varied."""
        started = time.perf_counter()
        self.env.invalidate_all()
        for model, names in RECOMPUTED_FIELDS.items():
            Model = self.env[model]
            stored = [Model._fields[n] for n in names if n in Model._fields and Model._fields[n].store]
            if not stored or model != "sale.order":
                continue
            for start in range(0, len(self.order_ids), recompute_batch):
                records = Model.browse(self.order_ids[start:start + recompute_batch])
                for fld in stored:
                    self.env.add_to_compute(fld, records)
                records.flush_recordset([f.name for f in stored])
                self.env.invalidate_all()
        self.timings["recompute"] += time.perf_counter() - started

    def close(self):
        """Drop the temporary tables and function."""
        for table in self.tables:
            self.cr.execute(SQL("DROP TABLE IF EXISTS %s", map_table(table)))
        self.cr.execute(SQL(
            "DROP TABLE IF EXISTS fc_template, fc_clone, fc_name, fc_product; "
            "DROP FUNCTION IF EXISTS pg_temp.fc_rename(text, text[], text[])"
        ))


def map_table(table):
    """The temporary table mapping the template rows of ``table`` to their copies."""
    return SQL.identifier(f"fc_map_{table}")


def reserve_sequence(sequence, count):
    """Draw ``count`` names from an ``ir.sequence`` at once; return them in order."""
    if not count:
        return []
    if sequence.implementation == "standard" and not sequence.use_date_range:
        cr = sequence.env.cr
        cr.execute(SQL(
            "SELECT nextval(%s) FROM generate_series(1, %s)", f"ir_sequence_{sequence.id:03d}", count))
        numbers = sorted(row[0] for row in cr.fetchall())
        return [sequence.get_next_char(number) for number in numbers]
    return [sequence._next() for _i in range(count)]
