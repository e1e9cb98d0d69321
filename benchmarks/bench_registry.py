"""Registry list and pivot queries at 1,000,000 rows versus sale.order alone."""

import os
import time
from dataclasses import dataclass
from datetime import date

from odoo.tools import SQL

from . import datagen, registry_data, replica
from .report import BenchResult, Measurement
from .scratch import BASE_MODULES, REGISTRY_MODULE, BenchError, log
from .timing import summarize

NAME = "registry"
DESCRIPTION = """\
Registry (sales.document) queries at 1,000,000 rows versus sale.order alone.

Builds one scratch database with sales_document_registry, master data (5,000
customers, 50 salespeople in 5 teams, 500 products, 6 tags) and 50 real
order-to-cash flows through the ORM, then copies those real rows in SQL up
to --rows registry rows: a quarter each of orders (2-3 lines), deliveries
(with moves), invoices and credit notes (with product lines) and customer
payments, over two years, a fifth of them tagged. With --reuse (or --keep) the
database is kept and a later run measures again without generating.

Each query runs through the ORM (never as the superuser: the record rules
apply) the way the web client asks for it: a list view (web_search_read, 80
rows, default order, count up to 10,000) or a pivot (read_group), as each
role of --roles: the administrator; the salesperson with the most orders with
Odoo's own "own documents" rules (plain Sales / User: Own Documents Only);
the same salesperson with the strict "own customers" rules of the audit addon
(set on Odoo's rules and added for deliveries and payments, as the addon
does, for the run only); and a sales manager. The same query on sale.order
alone as the same user is the baseline; the two are interleaved, with the
ORM cache cleared before every call. Reports p50 and p95 of both, and the
plan (EXPLAIN ANALYZE) of the slowest SQL statement of each registry query in
the JSON file.

With --replica the queries are answered on a streaming standby, as Odoo 18
does in production: a hot standby of the cluster holding the database
(pg_basebackup -R on loopback, port 5461 or 5462), the registry opened with
db_replica_host / db_replica_port pointing at it and every query on a
read-only cursor. The users and rules of the roles are then committed on the
primary (and removed at the end), and the server each measuring cursor is
connected to (pg_is_in_recovery, port) goes into the JSON file. The standby
is dropped at the end.
"""

ADMIN_UID = 2
ROLES = ("admin", "salesman", "manager", "strict")

# The audit addon's strict "own customers" rules (sales_document_audit,
# models/salesman_rules.py and security/), with the company setting on.
STRICT_RULES = {
    "sale.sale_order_personal_rule":
        "['|', ('user_id', '=', user.id), ('partner_id.commercial_partner_id.user_id', '=', user.id)]",
    "sale.account_invoice_rule_see_personal":
        "[('move_type', 'in', ('out_invoice', 'out_refund')), '|', ('invoice_user_id', '=', user.id), "
        "('commercial_partner_id.user_id', '=', user.id)]",
}
STRICT_NEW_RULES = {
    "stock.model_stock_picking":
        "['|', ('sale_id.user_id', '=', user.id), ('partner_id.commercial_partner_id.user_id', '=', user.id)]",
    "account.model_account_payment":
        "[('payment_type', '=', 'inbound'), ('partner_type', '=', 'customer'), '|', "
        "('sd_sale_order_id.user_id', '=', user.id), ('partner_id.commercial_partner_id.user_id', '=', user.id)]",
}
COUNT_LIMIT = 10000
TARGET_RATIO = 2.0
TARGET_MS = 150.0

# What the list views read of each row (``sales_document_view_list`` and sale.order's).
REGISTRY_LIST = {
    "date": {},
    "doc_type": {},
    "name": {},
    "partner_id": {"fields": {"display_name": {}}},
    "user_id": {"fields": {"display_name": {}}},
    "sale_order_name": {},
    "tag_ids": {"fields": {"display_name": {}, "color": {}}},
    "amount_total": {},
    "currency_id": {"fields": {}},
    "state": {},
}
ORDER_LIST = {
    "name": {},
    "date_order": {},
    "partner_id": {"fields": {"display_name": {}}},
    "user_id": {"fields": {"display_name": {}}},
    "team_id": {"fields": {"display_name": {}}},
    "tag_ids": {"fields": {"display_name": {}, "color": {}}},
    "amount_total": {},
    "currency_id": {"fields": {}},
    "state": {},
    "invoice_status": {},
}


def add_arguments(parser):
    parser.add_argument("--rows", type=int, default=1_000_000,
                        help="registry rows to generate, a quarter per kind (default 1,000,000)")
    parser.add_argument("--customers", type=int, default=5000,
                        help="customers (commercial partners) (default 5000)")
    parser.add_argument("--repeat", type=int, default=30,
                        help="timed calls per query and side (default 30)")
    parser.add_argument("--warmup", type=int, default=3,
                        help="untimed calls per query and side first (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--roles", default=",".join(ROLES),
                        help=f"comma-separated roles to run the queries as (default {','.join(ROLES)})")
    parser.add_argument("--only", default="",
                        help="comma-separated query names to run (default all)")
    parser.add_argument("--max-ratio", type=float, default=TARGET_RATIO,
                        help=f"maximum registry / sale.order p95 ratio (default {TARGET_RATIO:g})")
    parser.add_argument("--max-ms", type=float, default=TARGET_MS,
                        help=f"maximum registry p95 in ms (default {TARGET_MS:g})")
    parser.add_argument("--without-links", action="store_true",
                        help="read one tag's or one product's documents through the registry rows, "
                             "not their link table (the path before 18.0.1.5.0), to compare both the same day")
    parser.add_argument("--previous-paths", action="store_true",
                        help="show the list's order column through the sales order field and count one tag's "
                             "documents from the tag's date index alone (the paths before 18.0.1.7.0), "
                             "to compare both the same day")
    parser.add_argument("--pages-by-id", action="store_true",
                        help="find a page of one customer's documents by id first and then read its rows "
                             "by primary key, as every other page (the path before 18.0.1.8.0), "
                             "to compare both the same day")
    parser.add_argument("--replica", action="store_true",
                        help="answer the queries on a streaming standby of the database's cluster "
                             "(built for the run and dropped at its end)")


# ---------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------


def _month(offset):
    """First day of the month ``offset`` months after the generated data starts."""
    first = date.fromisoformat(registry_data.FIRST_DAY)
    months = first.year * 12 + first.month - 1 + offset
    return date(months // 12, months % 12 + 1, 1)


@dataclass(frozen=True)
class Query:
    """One user action on the registry and the same action on sale.order."""

    name: str
    kind: str  # "list" (web_search_read) or "pivot" (read_group)
    registry: object  # (facts, i) -> domain, or read_group arguments for pivots
    order: object
    note: str = ""


def _pick(values, i, step=1):
    return values[(i * step) % len(values)]


def _window(i):
    start = _month((i * 5) % 21)
    end = _month((i * 5) % 21 + 3)
    return start, end


QUERIES = [
    Query(
        "all",
        "list",
        lambda f, i: [],
        lambda f, i: [],
        "no filter: the list as it opens",
    ),
    Query(
        "customer",
        "list",
        # The registry's customer is already the commercial partner (its search
        # view sends "="); sale.order's search view sends child_of.
        lambda f, i: [("partner_id", "=", _pick(f["customers"], i, 97))],
        lambda f, i: [("partner_id", "child_of", _pick(f["customers"], i, 97))],
        "customer (registry: commercial partner; sale.order: child_of)",
    ),
    Query(
        "salesperson+quarter",
        "list",
        lambda f, i: [
            ("user_id", "=", _pick(f["users"], i, 7)),
            ("date", ">=", _window(i)[0].isoformat()),
            ("date", "<", _window(i)[1].isoformat()),
        ],
        lambda f, i: [
            ("user_id", "=", _pick(f["users"], i, 7)),
            ("date_order", ">=", f"{_window(i)[0].isoformat()} 00:00:00"),
            ("date_order", "<", f"{_window(i)[1].isoformat()} 00:00:00"),
        ],
        "one salesperson, a 3-month window",
    ),
    Query(
        "tag",
        "list",
        lambda f, i: [("tag_ids", "in", [_pick(f["tags"], i)])],
        lambda f, i: [("tag_ids", "in", [_pick(f["tags"], i)])],
        "one tag (about 5% of the documents each)",
    ),
    Query(
        "product",
        "list",
        lambda f, i: [("product_id", "=", _pick(f["products"], i, 37))],
        lambda f, i: [("order_line.product_id", "=", _pick(f["products"], i, 37))],
        "documents with this product on a line",
    ),
    Query(
        "count by state",
        "pivot",
        lambda f, i: ([], ["__count"], ["state"]),
        lambda f, i: ([], ["__count"], ["state"]),
        "all rows, grouped by state",
    ),
    Query(
        "amount by month",
        "pivot",
        lambda f, i: ([], ["amount_total:sum"], ["date:month"]),
        lambda f, i: ([], ["amount_total:sum"], ["date_order:month"]),
        "all rows, sum of amounts per month",
    ),
    Query(
        "customer by month",
        "pivot",
        lambda f, i: ([("partner_id", "=", _pick(f["customers"], i, 97))],
                      ["amount_total:sum"], ["date:month"]),
        lambda f, i: ([("commercial_partner_id", "=", _pick(f["customers"], i, 97))],
                      ["amount_total:sum"], ["date_order:month"]),
        "one customer, sum of amounts per month",
    ),
]


def _call(model, query, facts, i, registry_side):
    """Run ``query`` once on ``model``; return the number of rows it found."""
    builder = query.registry if registry_side else query.order
    if query.kind == "list":
        spec = REGISTRY_LIST if registry_side else ORDER_LIST
        result = model.web_search_read(builder(facts, i), spec, limit=80, count_limit=COUNT_LIMIT + 1)
        return result["length"]
    domain, fields, groupby = builder(facts, i)
    groups = model.read_group(domain, fields, groupby, lazy=False)
    return sum(g["__count"] for g in groups)


class StatementLog:
    """Record the SQL statements a cursor runs (text with parameters, duration)."""

    def __init__(self, cr):
        self.cr = cr
        self.statements = []

    def __enter__(self):
        cr = self.cr
        original = type(cr).execute

        def execute(query, params=None, log_exceptions=True):
            started = time.perf_counter()
            result = original(cr, query, params, log_exceptions)
            elapsed = time.perf_counter() - started
            self.statements.append((elapsed, cr._obj.query.decode(errors="replace")))
            return result

        cr.execute = execute
        return self

    def __exit__(self, *exc):
        del self.cr.execute
        return False

    def slowest(self):
        return max(self.statements, default=(0.0, ""), key=lambda s: s[0])


def explain(cr, statement):
    """EXPLAIN (ANALYZE, BUFFERS) of an already bound statement, as text lines."""
    if not statement.lstrip().upper().startswith("SELECT"):
        return []
    # The statement text is the one the ORM just ran, parameters bound by psycopg2.
    cr.execute(SQL("EXPLAIN (ANALYZE, BUFFERS) %s", SQL(statement.replace("%", "%%"))))
    return [row[0] for row in cr.fetchall()]


# ---------------------------------------------------------------------------
# Run
# ---------------------------------------------------------------------------


def _master_factory(env, args):
    def factory():
        sizing = datagen.Sizing(
            customers=args.customers, contacts_per_customer=1, salespeople=50, teams=5,
            products=500, services=5, tags=6,
        )
        log(f"master data: {sizing}")
        master = datagen.prepare_master_data(env, flows=50, seed=args.seed, sizing=sizing)
        env.cr.commit()
        log(f"master data ready in {master.setup_seconds:.0f} s; 50 real flows")
        datagen.generate_flows(env, 50, seed=args.seed, batch_size=25, master=master)
        users = sorted(master.team_of_user)
        return {
            "company_id": master.company_id,
            "customers": master.customer_ids,
            "users": users,
            "teams": [master.team_of_user[u] for u in users],
            "tags": master.crm_tag_ids,
            "products": master.product_ids,
        }
    return factory


def _counts(env):
    cr = env.cr
    cr.execute(SQL("SELECT res_model, count(*) FROM sales_document GROUP BY res_model ORDER BY 1"))
    return dict(cr.fetchall())


def as_user(env, facts, uid):
    """The environment of ``uid`` (record rules apply) in the generated company."""
    context = {"allowed_company_ids": [facts["company_id"]], "tz": "UTC"}
    return env(user=uid, context=context)


def as_admin(env, facts):
    """The environment of the administrator (record rules apply) in the generated company."""
    return as_user(env, facts, ADMIN_UID)


def busiest_salesperson(env):
    """The salesperson with the most orders, and how many."""
    env.cr.execute(SQL(
        "SELECT user_id, count(*) FROM sale_order WHERE user_id IS NOT NULL GROUP BY user_id ORDER BY 2 DESC, 1 LIMIT 1"
    ))
    return env.cr.fetchone()


MANAGER_LOGIN = "bench.sales.manager"


def prepare_role(su_env, facts, role):
    """The user id that plays ``role``, with the rules of the role set for this transaction."""
    if role == "admin":
        return ADMIN_UID
    if role == "manager":
        existing = su_env["res.users"].search([("login", "=", MANAGER_LOGIN)])
        if existing:
            return existing.id
        return su_env["res.users"].with_context(no_reset_password=True).create({
            "name": "Bench Sales Manager",
            "login": MANAGER_LOGIN,
            "company_id": facts["company_id"],
            "company_ids": [(6, 0, [facts["company_id"]])],
            "groups_id": [(6, 0, [su_env.ref("sales_team.group_sale_manager").id])],
        }).id
    uid, _orders = busiest_salesperson(su_env)
    if role == "strict":
        for xmlid, domain in STRICT_RULES.items():
            su_env.ref(xmlid).domain_force = domain
        salesman_group = su_env.ref("sales_team.group_sale_salesman")
        for model_xmlid, domain in STRICT_NEW_RULES.items():
            su_env["ir.rule"].create({
                "name": f"Own customers ({model_xmlid})",
                "model_id": su_env.ref(model_xmlid).id,
                "domain_force": domain,
                "groups": [(4, salesman_group.id)],
            })
    return uid


def saved_rules(su_env):
    """The domains of Odoo's rules the strict role changes, to put them back afterwards."""
    return {xmlid: su_env.ref(xmlid).domain_force for xmlid in STRICT_RULES}


def undo_roles(su_env, saved):
    """Remove what :func:`prepare_role` made, once it was committed (replica runs)."""
    for xmlid, domain in saved.items():
        rule = su_env.ref(xmlid)
        if rule.domain_force != domain:
            rule.domain_force = domain
    su_env["ir.rule"].search([
        ("name", "in", [f"Own customers ({model_xmlid})" for model_xmlid in STRICT_NEW_RULES]),
    ]).unlink()
    manager = su_env["res.users"].with_context(active_test=False).search([("login", "=", MANAGER_LOGIN)])
    partner = manager.partner_id
    manager.unlink()
    partner.unlink()


def measure_queries(env, facts, queries, warmup, repeat, progress=True):
    """Time each query on both sides, interleaved; return ``(samples, found)``.

    ``samples[name][side]`` are durations in ms, ``found[name][side]`` the
    rows each call found; ``side`` is ``"registry"`` or ``"order"``. Which
    side goes first alternates from one round to the next, and the ORM
    cache is cleared before every call.
    """
    models = {"registry": env["sales.document"], "order": env["sale.order"]}
    samples = {q.name: {"registry": [], "order": []} for q in queries}
    found = {q.name: {"registry": [], "order": []} for q in queries}
    for rep in range(warmup + repeat):
        timed = rep >= warmup
        i = rep - warmup if timed else 1000 + rep
        for query in queries:
            sides = ("registry", "order") if rep % 2 == 0 else ("order", "registry")
            for side in sides:
                env.invalidate_all()
                start = time.perf_counter()
                rows = _call(models[side], query, facts, i, side == "registry")
                elapsed = time.perf_counter() - start
                if timed:
                    samples[query.name][side].append(elapsed * 1000)
                    found[query.name][side].append(rows)
        if progress and timed and (rep - warmup + 1) % 10 == 0:
            log(f"{rep - warmup + 1}/{repeat} rounds")
    return samples, found


def slowest_statement_plan(env, query, facts):
    """The slowest SQL statement of one registry call of ``query`` and its plan."""
    env.invalidate_all()
    with StatementLog(env.cr) as statements:
        _call(env["sales.document"], query, facts, 0, True)
    seconds, statement = statements.slowest()
    return {
        "statements": len(statements.statements),
        "slowest_ms": round(seconds * 1000, 2),
        "sql": statement,
        "plan": explain(env.cr, statement),
    }


def measure_role(env, facts, selected, args, on_standby):
    """Measure ``selected`` on ``env`` (one cursor) and record which server answered.

    The server is read on that same cursor before the first call, after each
    query's plan and after the last call; with ``on_standby`` a cursor that
    is not on a standby in recovery stops the run.
    """
    def where():
        server = replica.server_of(env.cr)
        if on_standby and not server["in_recovery"]:
            raise BenchError(f"the read-only cursor is not on the standby: {server}")
        return server

    before = where()
    load = [os.getloadavg()[0]]
    samples, found = measure_queries(env, facts, selected, args.warmup, args.repeat)
    load.append(os.getloadavg()[0])
    plans = {}
    for query in selected:
        plans[query.name] = slowest_statement_plan(env, query, facts)
        plans[query.name]["server"] = where()
    servers = {"before": before, "after": where()}
    return samples, found, plans, {"servers": servers, "load_average_1min": load}


def _measure_on_primary(args, session, dbname, facts, selected, roles):
    by_role = {}
    with session.environment(dbname) as su_env:
        for role in roles:
            uid = prepare_role(su_env, facts, role)
            su_env.flush_all()
            env = as_user(su_env, facts, uid)
            log(f"as {role} (uid {uid})")
            by_role[role] = (uid, *measure_role(env, facts, selected, args, on_standby=False))
        # Nothing of the roles (users, rules) is kept.
        su_env.cr.rollback()
    return by_role


def _measure_on_replica(args, session, dbname, facts, selected, roles):
    """Each role's queries on a read-only cursor of the standby.

    A standby cannot take the roles' users and rules inside the measuring
    transaction: they are committed on the primary, replayed, then removed.
    """
    by_role = {}
    with replica.standby(session) as node:
        with session.environment(dbname) as su_env:
            saved = saved_rules(su_env)
        try:
            for role in roles:
                with session.environment(dbname) as su_env:
                    uid = prepare_role(su_env, facts, role)
                    su_env.flush_all()
                node.wait_replayed()
                with session.environment(dbname, readonly=True) as ro_env:
                    env = as_user(ro_env, facts, uid)
                    log(f"as {role} (uid {uid}) on the standby (port {node.port})")
                    by_role[role] = (uid, *measure_role(env, facts, selected, args, on_standby=True))
        finally:
            with session.environment(dbname) as su_env:
                undo_roles(su_env, saved)
            log("users and rules of the roles removed from the primary")
    return by_role


def run(args, session):
    dbname = session.create_databases({"registry": [*BASE_MODULES, REGISTRY_MODULE]})["registry"]
    per_kind = args.rows // 4
    with session.environment(dbname) as env:
        if args.without_links:
            # This process's registry reads one tag's or one product's documents through the rows.
            env.registry["sales.document"]._search_links = lambda self, *args, **kwargs: None
        if args.previous_paths:
            # This process's list reads the order's name from the order, and counts a tag's
            # documents without a union of the rule alternatives.
            from odoo.addons.sales_document_registry.tools import (
                registry_store,  # only once Odoo is loaded
            )

            REGISTRY_LIST.pop("sale_order_name")
            REGISTRY_LIST["sale_order_id"] = {"fields": {"display_name": {}}}
            registry_store.LINK_BRANCH_COLUMNS.clear()
        if args.pages_by_id:
            # This process's registry reads one customer's page by primary key, after its ids.
            from odoo.addons.sales_document_registry.models import (
                sales_document,  # only once Odoo is loaded
            )

            sales_document._whole_rows_of = lambda domain: False
        started = time.perf_counter()
        facts, generated = registry_data.ensure_data(
            env, per_kind, _master_factory(env, args), seed=args.seed)
        env.cr.commit()
        if generated:
            log(f"data generated in {time.perf_counter() - started:.0f} s "
                f"(ORM {facts['orm_seconds']} s, SQL {facts['sql_seconds']} s, "
                f"ANALYZE {facts['analyze_seconds']} s)")
            log(f"VACUUM (ANALYZE) of the database in {session.vacuum(dbname)} s")
        else:
            log("reusing the generated data of the kept database")
        counts = _counts(env)
        log(f"registry rows: {sum(counts.values())} {counts}")

    selected = [q for q in QUERIES if not args.only or q.name in args.only.split(",")]
    # The strict rules change the salesperson's rules: that role comes last.
    roles = [role for role in ROLES if role in args.roles.split(",")]
    measure = _measure_on_replica if args.replica else _measure_on_primary
    by_role = measure(args, session, dbname, facts, selected, roles)
    return _result(args, dbname, facts, counts, selected, by_role)


def _result(args, dbname, facts, counts, selected, by_role):
    measurements = []
    details = {}
    plans_by_role = {}
    slowest_by_role = {}
    for role, (uid, samples, found, plans, context) in by_role.items():
        details[role] = {"uid": uid, **context, "queries": {}}
        for query in selected:
            reg = summarize(samples[query.name]["registry"])
            base = summarize(samples[query.name]["order"])
            rows = found[query.name]
            avg = {side: sum(v) / len(v) for side, v in rows.items()}
            note = f"{query.kind}; rows found: {avg['registry']:.0f} vs {avg['order']:.0f}"
            measurements += [
                Measurement(f"{role}: {query.name} p50", reg.p50, unit="ms", baseline=base.p50, note=note),
                Measurement(f"{role}: {query.name} p95", reg.p95, unit="ms", baseline=base.p95,
                            max_ratio=args.max_ratio, max_value=args.max_ms, note=query.note),
            ]
            details[role]["queries"][query.name] = {
                "registry": reg.as_dict(), "sale.order": base.as_dict(), "rows_found_avg": avg,
            }
        slowest = max(selected, key=lambda q, samples=samples: summarize(samples[q.name]["registry"]).p95)
        plan = plans[slowest.name]
        slowest_by_role[role] = slowest.name
        plans_by_role[role] = plans
        print(f"\nSlowest registry query as {role}: {slowest.name}; its slowest statement "
              f"({plan['slowest_ms']} ms):\n{plan['sql']}\n")
        print("\n".join(plan["plan"]))
    return BenchResult(
        measurements,
        title=(f"Registry at {sum(counts.values()):,} rows vs sale.order alone "
               f"({args.repeat} calls each, as {', '.join(by_role)}"
               f"{', on the replica' if args.replica else ''}"
               f"{', tags and products through the rows' if args.without_links else ''}"
               f"{', paths before 18.0.1.7.0' if args.previous_paths else ''}"
               f"{', customer pages by id' if args.pages_by_id else ''})"),
        extra={
            "database": dbname,
            "answered_on": "replica" if args.replica else "primary",
            "tag_and_product_lists": "through the rows" if args.without_links else "from their links",
            "previous_paths": args.previous_paths,
            "customer_pages": "by id first" if args.pages_by_id else "found and read at once",
            "registry_rows": counts,
            "generation": {k: v for k, v in facts.items()
                           if k not in ("customers", "users", "teams", "tags", "products")},
            "roles": details,
            "slowest_registry_query": slowest_by_role,
            "explain": plans_by_role,
        },
    )
