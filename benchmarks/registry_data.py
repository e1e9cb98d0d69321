"""Bulk data for the registry benchmark, generated in SQL.

A few real order-to-cash flows (built through the ORM by ``datagen``) give
one real row of each table behind the registry: sale order and its lines,
delivery and its moves, customer invoice and its product lines, customer
payment. Each generated row is a copy of that template row (every column,
so every NOT NULL column and foreign key is valid) with the columns that
matter for the registry varied: customer, salesperson and team, dates,
amounts, states, products, tags, and unique names.

``n`` documents of each kind are made in one ``INSERT ... SELECT`` per
table from a temporary table that decides, per document number ``g``,
everything at random (``setseed`` makes it reproducible): order ``g`` has a
delivery ``g``, an invoice (or credit note) ``g`` and a payment ``g``, so the
four kinds together give ``4 * n`` registry rows.
"""

import json
import time

from odoo.tools import SQL

from .scratch import BenchError, log

PARAM_KEY = "benchmarks.registry_data"
FIRST_DAY = "2024-01-01"
DAYS = 730

# (table, template query): the template is one real row made by the flows.
TEMPLATES = {
    "sale_order": "SELECT id FROM sale_order WHERE state = 'sale' ORDER BY id LIMIT 1",
    "stock_picking": (
        "SELECT id FROM stock_picking WHERE sale_id IS NOT NULL AND state = 'done' ORDER BY id LIMIT 1"
    ),
    "account_move": (
        "SELECT id FROM account_move WHERE move_type = 'out_invoice' AND state = 'posted' "
        "AND sd_sale_order_id IS NOT NULL ORDER BY id LIMIT 1"
    ),
    "account_payment": (
        "SELECT id FROM account_payment WHERE payment_type = 'inbound' "
        "AND partner_type = 'customer' ORDER BY id LIMIT 1"
    ),
}


def table_columns(cr, table):
    """Names of the stored, non-generated columns of ``table``, in order."""
    cr.execute(SQL(
        """SELECT column_name FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = %s
              AND is_generated = 'NEVER'
            ORDER BY ordinal_position""",
        table,
    ))
    return [row[0] for row in cr.fetchall()]


def copy_rows(cr, table, template_id, source, overrides, where=None):
    """``INSERT INTO table SELECT`` copies of row ``template_id``, one per row of ``source``.

    ``source`` is a SQL ``FROM`` item (it may be a join) whose columns the
    ``overrides`` (``column -> SQL``) use; every other column is copied from
    the template row ``t``. ``id`` is left to its sequence unless overridden.
    Overrides of columns the table lacks are ignored. Returns the row count.
    """
    columns = [c for c in table_columns(cr, table) if c != "id" or "id" in overrides]
    exprs = [overrides.get(c, SQL("t.%s", SQL.identifier(c))) for c in columns]
    cr.execute(SQL(
        "INSERT INTO %s (%s) SELECT %s FROM %s t CROSS JOIN %s WHERE t.id = %s AND (%s)",
        SQL.identifier(table),
        SQL(", ").join(SQL.identifier(c) for c in columns),
        SQL(", ").join(exprs),
        SQL.identifier(table),
        source,
        template_id,
        where or SQL("TRUE"),
    ))
    return cr.rowcount


def _templates(cr):
    found = {}
    for table, query in TEMPLATES.items():
        cr.execute(SQL(query))  # constant text above, no parameter
        row = cr.fetchone()
        if not row:
            raise BenchError(f"no template row in {table}: did the real flows run?")
        found[table] = row[0]
    cr.execute(SQL(
        """SELECT id FROM sale_order_line
            WHERE order_id = %s AND display_type IS NULL AND product_id IS NOT NULL
            ORDER BY id LIMIT 1""",
        found["sale_order"],
    ))
    found["sale_order_line"] = cr.fetchone()[0]
    cr.execute(SQL(
        "SELECT id FROM stock_move WHERE picking_id = %s ORDER BY id LIMIT 1",
        found["stock_picking"],
    ))
    found["stock_move"] = cr.fetchone()[0]
    cr.execute(SQL(
        """SELECT id FROM account_move_line
            WHERE move_id = %s AND display_type = 'product' AND product_id IS NOT NULL
            ORDER BY id LIMIT 1""",
        found["account_move"],
    ))
    found["account_move_line"] = cr.fetchone()[0]
    return found


def _max_id(cr, table):
    cr.execute(SQL("SELECT COALESCE(MAX(id), 0) FROM %s", SQL.identifier(table)))
    return cr.fetchone()[0]


def _plan(cr, n, master, seed):
    """Temporary table ``bench_doc``: what document number ``g`` gets."""
    bases = {t: _max_id(cr, t) for t in ("sale_order", "stock_picking", "account_move", "account_payment")}
    cr.execute(SQL("DROP TABLE IF EXISTS bench_doc"))
    cr.execute(SQL("SELECT setseed(%s)", (seed % 1000) / 1000.0))
    # Random draws first, then everything derived from them.
    cr.execute(SQL(
        """CREATE TEMP TABLE bench_doc AS
           WITH r AS (
               SELECT g,
                      floor(random() * %(nc)s)::int + 1 AS ci,
                      floor(random() * %(nu)s)::int + 1 AS ui,
                      random() AS r_day, random() AS r_amount, random() AS r_state,
                      random() AS r_lock, random() AS r_tag, random() AS r_inv,
                      random() AS r_paid, random() AS r_pick, random() AS r_pay,
                      floor(random() * %(nt)s)::int AS t1, floor(random() * %(nt)s)::int AS t2,
                      floor(random() * %(np)s)::int AS p1, floor(random() * %(np)s)::int AS p2,
                      floor(random() * %(np)s)::int AS p3, random() AS r_lines
                 FROM generate_series(1, %(n)s) g
           )
           SELECT g,
                  %(so)s + g AS order_id, %(sp)s + g AS picking_id,
                  %(am)s + g AS move_id, %(ap)s + g AS payment_id,
                  lpad(g::text, 7, '0') AS num,
                  (%(customers)s::int[])[ci] AS customer_id,
                  (%(users)s::int[])[ui] AS user_id,
                  (%(teams)s::int[])[ui] AS team_id,
                  %(first_day)s::timestamp + (r_day * %(days)s) * interval '1 day' AS date_order,
                  round((50 + r_amount * 4950)::numeric, 2) AS amount,
                  CASE WHEN r_state < 0.85 THEN 'sale' WHEN r_state < 0.90 THEN 'draft'
                       WHEN r_state < 0.95 THEN 'sent' ELSE 'cancel' END AS so_state,
                  r_lock < 0.3 AS locked,
                  CASE WHEN r_tag < 0.2 THEN (%(tags)s::int[])[t1 + 1] END AS tag1,
                  CASE WHEN r_tag < 0.07 AND t2 <> t1 THEN (%(tags)s::int[])[t2 + 1] END AS tag2,
                  (%(products)s::int[])[p1 + 1] AS product1,
                  (%(products)s::int[])[mod(p1 + 1 + mod(p2, %(np)s - 1), %(np)s) + 1] AS product2,
                  (%(products)s::int[])[mod(p1 + 2 + mod(p3, %(np)s - 2), %(np)s) + 1] AS product3,
                  CASE WHEN r_lines < 0.5 THEN 2 ELSE 3 END AS nlines,
                  CASE WHEN r_inv < 0.1 THEN 'out_refund' ELSE 'out_invoice' END AS move_type,
                  CASE WHEN r_paid < 0.7 THEN 'paid' WHEN r_paid < 0.9 THEN 'not_paid'
                       ELSE 'partial' END AS payment_state,
                  CASE WHEN r_pick < 0.8 THEN 'done' WHEN r_pick < 0.95 THEN 'assigned'
                       ELSE 'cancel' END AS picking_state,
                  CASE WHEN r_pay < 0.85 THEN 'paid' WHEN r_pay < 0.95 THEN 'in_process'
                       ELSE 'draft' END AS payment_status
             FROM r""",
        n=n, nc=len(master["customers"]), nu=len(master["users"]), nt=len(master["tags"]),
        np=len(master["products"]), so=bases["sale_order"], sp=bases["stock_picking"],
        am=bases["account_move"], ap=bases["account_payment"], customers=master["customers"],
        users=master["users"], teams=master["teams"], tags=master["tags"],
        products=master["products"], first_day=FIRST_DAY, days=DAYS,
    ))


def _line_product():
    return SQL("CASE k WHEN 1 THEN d.product1 WHEN 2 THEN d.product2 ELSE d.product3 END")


def _skip_foreign_key_checks(cr):
    """Skip the per-row foreign key triggers for this transaction, when allowed.

    Every generated reference comes from an existing row, so the checks
    would only cost time (a lookup per foreign key and row). Needs a
    PostgreSQL superuser; without one the checks simply run.
    """
    cr.execute(SQL("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
    row = cr.fetchone()
    if row and row[0]:
        cr.execute(SQL("SET LOCAL session_replication_role = replica"))
        return True
    return False


def _generate(cr, n, master, seed):
    tpl = _templates(cr)
    _plan(cr, n, master, seed)
    skipped = _skip_foreign_key_checks(cr)
    if not skipped:
        log("not a PostgreSQL superuser: foreign keys are checked row by row (slower)")
    doc = SQL("bench_doc d")
    lines = SQL("bench_doc d CROSS JOIN generate_series(1, 3) k")
    untaxed = SQL("round(d.amount / 1.15, 2)")
    timings = {}

    def step(table, template, source, overrides, where=None):
        started = time.perf_counter()
        count = copy_rows(cr, table, tpl[template], source, overrides, where)
        timings[table] = round(time.perf_counter() - started, 1)
        log(f"{table}: {count} rows in {timings[table]} s")

    step("sale_order", "sale_order", doc, {
        "id": SQL("d.order_id"),
        "name": SQL("'BSO' || d.num"),
        "partner_id": SQL("d.customer_id"),
        "partner_invoice_id": SQL("d.customer_id"),
        "partner_shipping_id": SQL("d.customer_id"),
        "commercial_partner_id": SQL("d.customer_id"),
        "user_id": SQL("d.user_id"),
        "team_id": SQL("d.team_id"),
        "date_order": SQL("d.date_order"),
        "create_date": SQL("d.date_order"),
        "write_date": SQL("d.date_order"),
        "state": SQL("d.so_state"),
        "locked": SQL("d.so_state = 'sale' AND d.locked"),
        "amount_total": SQL("d.amount"),
        "amount_untaxed": untaxed,
        "amount_tax": SQL("d.amount - %s", untaxed),
        "client_order_ref": SQL("NULL"),
        "client_order_ref_normalized": SQL("NULL"),
        "sd_line_signature": SQL("'bench-' || d.num"),
        "access_token": SQL("NULL"),
        "origin": SQL("NULL"),
    })
    step("sale_order_line", "sale_order_line", lines, {
        "order_id": SQL("d.order_id"),
        "product_id": _line_product(),
        "name": SQL("'Line ' || k || ' of BSO' || d.num"),
        "sequence": SQL("k * 10"),
        "order_partner_id": SQL("d.customer_id"),
        "salesman_id": SQL("d.user_id"),
        "state": SQL("d.so_state"),
        "create_date": SQL("d.date_order"),
        "write_date": SQL("d.date_order"),
    }, where=SQL("k <= d.nlines"))
    step("stock_picking", "stock_picking", doc, {
        "id": SQL("d.picking_id"),
        "name": SQL("'BOUT/' || d.num"),
        "origin": SQL("'BSO' || d.num"),
        "sale_id": SQL("d.order_id"),
        "partner_id": SQL("d.customer_id"),
        "sd_commercial_partner_id": SQL("d.customer_id"),
        "sd_amount_total": untaxed,
        "scheduled_date": SQL("d.date_order + interval '1 day'"),
        "date_deadline": SQL("d.date_order + interval '2 days'"),
        "date": SQL("d.date_order"),
        "date_done": SQL("CASE WHEN d.picking_state = 'done' THEN d.date_order + interval '2 days' END"),
        "state": SQL("d.picking_state"),
        "create_date": SQL("d.date_order"),
        "write_date": SQL("d.date_order"),
    })
    step("stock_move", "stock_move", lines, {
        "picking_id": SQL("d.picking_id"),
        "product_id": _line_product(),
        "description_picking": SQL("NULL"),
        "origin": SQL("'BSO' || d.num"),
        "reference": SQL("'BOUT/' || d.num"),
        "partner_id": SQL("d.customer_id"),
        "sale_line_id": SQL("NULL"),
        "state": SQL("d.picking_state"),
        "date": SQL("d.date_order + interval '2 days'"),
        "create_date": SQL("d.date_order"),
        "write_date": SQL("d.date_order"),
    }, where=SQL("k <= d.nlines"))
    invoice_date = SQL("(d.date_order + interval '3 days')::date")
    step("account_move", "account_move", doc, {
        "id": SQL("d.move_id"),
        "name": SQL("'BINV/' || d.num"),
        "sequence_prefix": SQL("'BINV/'"),
        "sequence_number": SQL("d.g"),
        "move_type": SQL("d.move_type"),
        "partner_id": SQL("d.customer_id"),
        "commercial_partner_id": SQL("d.customer_id"),
        "invoice_user_id": SQL("d.user_id"),
        "team_id": SQL("d.team_id"),
        "invoice_date": invoice_date,
        "date": invoice_date,
        "invoice_date_due": SQL("%s + 30", invoice_date),
        "payment_state": SQL("d.payment_state"),
        "amount_total": SQL("d.amount"),
        "amount_untaxed": untaxed,
        "amount_tax": SQL("d.amount - %s", untaxed),
        "amount_total_signed": SQL("d.amount"),
        "amount_untaxed_signed": untaxed,
        "amount_total_in_currency_signed": SQL("d.amount"),
        "amount_residual": SQL("CASE WHEN d.payment_state = 'paid' THEN 0 ELSE d.amount END"),
        "amount_residual_signed": SQL("CASE WHEN d.payment_state = 'paid' THEN 0 ELSE d.amount END"),
        "sd_sale_order_id": SQL("d.order_id"),
        "invoice_origin": SQL("'BSO' || d.num"),
        "payment_reference": SQL("'BINV/' || d.num"),
        "ref": SQL("NULL"),
        "access_token": SQL("NULL"),
        "inalterable_hash": SQL("NULL"),
        "secure_sequence_number": SQL("NULL"),
        "create_date": SQL("d.date_order"),
        "write_date": SQL("d.date_order"),
    })
    step("account_move_line", "account_move_line", lines, {
        "move_id": SQL("d.move_id"),
        "move_name": SQL("'BINV/' || d.num"),
        "product_id": _line_product(),
        "name": SQL("'Line ' || k || ' of BINV/' || d.num"),
        "partner_id": SQL("d.customer_id"),
        "date": invoice_date,
        "invoice_date": invoice_date,
        "sequence": SQL("k * 10"),
        "create_date": SQL("d.date_order"),
        "write_date": SQL("d.date_order"),
    }, where=SQL("k <= 2"))
    step("account_payment", "account_payment", doc, {
        "id": SQL("d.payment_id"),
        "name": SQL("'BPAY/' || d.num"),
        "move_id": SQL("NULL"),
        "partner_id": SQL("d.customer_id"),
        "sd_commercial_partner_id": SQL("d.customer_id"),
        "sd_sale_order_id": SQL("d.order_id"),
        "date": SQL("(d.date_order + interval '20 days')::date"),
        "amount": SQL("d.amount"),
        "amount_company_currency_signed": SQL("d.amount"),
        "state": SQL("d.payment_status"),
        "memo": SQL("'BINV/' || d.num"),
        "payment_reference": SQL("NULL"),
        "create_date": SQL("d.date_order"),
        "write_date": SQL("d.date_order"),
    })
    started = time.perf_counter()
    for table, column, id_column in (
        ("sale_order_tag_rel", "order_id", "order_id"),
        ("stock_picking_crm_tag_rel", "picking_id", "picking_id"),
        ("account_move_crm_tag_rel", "move_id", "move_id"),
        ("account_payment_crm_tag_rel", "payment_id", "payment_id"),
    ):
        cr.execute(SQL(
            """INSERT INTO %(table)s (%(column)s, tag_id)
               SELECT d.%(id)s, d.tag1 FROM bench_doc d WHERE d.tag1 IS NOT NULL
               UNION ALL
               SELECT d.%(id)s, d.tag2 FROM bench_doc d WHERE d.tag2 IS NOT NULL""",
            table=SQL.identifier(table), column=SQL.identifier(column),
            id=SQL.identifier(id_column),
        ))
    timings["tags"] = round(time.perf_counter() - started, 1)
    for table in ("sale_order", "stock_picking", "account_move", "account_payment"):
        cr.execute(SQL(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT MAX(id) FROM %s))",
            table, SQL.identifier(table),
        ))
    cr.execute(SQL("DROP TABLE bench_doc"))
    if skipped:
        cr.execute(SQL("SET LOCAL session_replication_role = DEFAULT"))
    return timings


def ensure_data(env, n, master_factory, seed=0):
    """Make sure the database holds ``n`` generated documents of each kind.

    ``master_factory()`` creates the master data and the real flows (ORM)
    and returns ``{customers, users, teams, tags, products}`` (lists of
    ids). Returns ``(facts, generated)``: the facts stored in a system
    parameter (master ids, row counts, timings) and whether this call
    generated the data (False when a kept database already had it).
    """
    cr = env.cr
    stored = env["ir.config_parameter"].sudo().get_param(PARAM_KEY)
    if stored:
        facts = json.loads(stored)
        if facts.get("n") == n:
            return facts, False
        raise BenchError(
            f"the kept database was generated with {facts.get('n')} documents per kind, "
            f"not {n}: drop it or run without --reuse"
        )
    started = time.perf_counter()
    master = master_factory()
    env.flush_all()
    orm_seconds = time.perf_counter() - started
    started = time.perf_counter()
    timings = _generate(cr, n, master, seed)
    sql_seconds = time.perf_counter() - started
    # The rows were written with triggers off (session_replication_role):
    # fill the registry store from the document tables in one pass.
    started = time.perf_counter()
    env["sales.document"]._refill_store()
    timings["registry_store"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    cr.execute(SQL("ANALYZE"))
    analyze_seconds = time.perf_counter() - started
    facts = dict(master, n=n, seed=seed, orm_seconds=round(orm_seconds, 1),
                 sql_seconds=round(sql_seconds, 1), analyze_seconds=round(analyze_seconds, 1),
                 table_seconds=timings)
    env["ir.config_parameter"].sudo().set_param(PARAM_KEY, json.dumps(facts))
    env.invalidate_all()
    return facts, True
