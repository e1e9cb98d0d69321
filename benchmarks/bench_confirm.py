"""Order confirmation with every registry guard on versus plain Odoo."""

import random
import time

from . import datagen
from .report import BenchResult, Measurement
from .scratch import BASE_MODULES, REGISTRY_MODULE, log
from .timing import summarize

NAME = "confirm"
DESCRIPTION = """\
Cost of the registry's confirmation guards.

Two scratch databases in the same run: "baseline" (Odoo's sale_management,
sale_stock, stock_delivery and account) and "guarded" (with
sales_document_registry, the oversell guard in block mode, an approval rule
that every order matches, an auto-tag rule, and the default completeness
rules). The same seeded quotations of 10 stocked lines are created in both;
in the guarded database they are approved beforehand (untimed). Then each
order is confirmed as the administrator in its own transaction
(action_confirm + commit), as a user clicking Confirm would. Reports the
guarded / baseline ratio of the total time and of the per-order latency.
"""

DEFAULT_TARGET = 1.2


def add_arguments(parser):
    parser.add_argument("--orders", type=int, default=200, help="orders confirmed per database (default 200)")
    parser.add_argument("--lines", type=int, default=10, help="lines per order (default 10)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed confirmations first (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--target", type=float, default=DEFAULT_TARGET,
                        help=f"maximum guarded / baseline ratio (default {DEFAULT_TARGET:g})")


def run(args, session):
    specs = {"baseline": list(BASE_MODULES), "guarded": [*BASE_MODULES, REGISTRY_MODULE]}
    names = session.create_databases(specs)
    order_ids = {}
    for label in specs:
        with session.environment(names[label]) as env:
            log(f"{label}: preparing {args.warmup + args.orders} quotations of {args.lines} lines")
            order_ids[label] = _prepare(env, args, guarded=(label == "guarded"))
            env.cr.commit()
    timings = {label: [] for label in specs}
    # Both databases open at once, confirmations alternating order by order,
    # so that both sides see the same machine load.
    with session.environment(names["baseline"]) as base_env, \
            session.environment(names["guarded"]) as guard_env:
        envs = {"baseline": base_env, "guarded": guard_env}
        orders = {
            label: env(user=env.ref("base.user_admin").id)["sale.order"].browse(order_ids[label])
            for label, env in envs.items()
        }
        log(f"{args.warmup} warm-up confirmations per database")
        for i in range(args.warmup):
            for label, env in envs.items():
                _confirm(env, orders[label][i])
        log(f"timing {args.orders} confirmations per database, alternating")
        for i in range(args.warmup, args.warmup + args.orders):
            first = ("baseline", "guarded") if i % 2 else ("guarded", "baseline")
            for label in first:
                timings[label].extend(_confirm(envs[label], orders[label][i]))
        for label in specs:
            log(f"{label}: {sum(timings[label]):.1f} s")
    return _result(args, names, timings)


def _prepare(env, args, guarded):
    total = args.warmup + args.orders
    master = datagen.prepare_master_data(env, flows=total, seed=args.seed)
    rng = random.Random(f"confirm-{args.seed}")
    lines = min(args.lines, master.sizing.products)
    demand = {}
    plans = []
    for i in range(total):
        products = rng.sample(range(len(master.product_ids)), lines)
        plan = [(p, rng.randint(1, 3)) for p in products]
        for p, qty in plan:
            demand[p] = demand.get(p, 0) + qty
        plans.append((i, plan))
    # Plenty of stock: the guard must find enough, so both sides confirm everything.
    datagen.top_up_stock(env, master, {p: qty * 2 for p, qty in demand.items()})
    env = env(su=True, context=dict(env.context, **datagen.QUIET_CONTEXT))
    has_method = "preferred_payment_method_line_id" in env["sale.order"]._fields
    vals_list = []
    for i, plan in plans:
        customer_index = i % len(master.customer_ids)
        user = master.salesperson_ids[customer_index]
        vals = {
            "partner_id": master.customer_ids[customer_index],
            "user_id": user,
            "team_id": master.team_of_user.get(user, False),
            "company_id": master.company_id,
            "warehouse_id": master.warehouse_id,
            "payment_term_id": master.payment_term_id,
            "carrier_id": master.carrier_id,
            "order_line": [
                (0, 0, {"product_id": master.product_ids[p], "product_uom_qty": qty}) for p, qty in plan
            ],
        }
        if has_method:
            vals["preferred_payment_method_line_id"] = master.payment_method_line_id
        vals_list.append(vals)
    orders = env["sale.order"].create(vals_list)
    if guarded:
        _arm_guards(env, master, orders)
    return orders.ids


def _arm_guards(env, master, orders):
    company = env["res.company"].browse(master.company_id)
    company.sales_oversell_mode = "block"
    env["sales.document.approval.rule"].create({
        "name": "Every order",
        "min_amount": 0.0,
        "approver_group_id": env.ref("sales_team.group_sale_manager").id,
        "company_id": company.id,
    })
    env["sales.document.tag.rule"].create({
        "name": "Large orders",
        "doc_type": "order",
        "domain": "[('amount_untaxed', '>=', 1000)]",
        "tag_ids": [(6, 0, master.crm_tag_ids[:1])],
    })
    admin = env.ref("base.user_admin")
    for user_id in set(orders.mapped("user_id").ids):
        mine = orders.filtered(lambda o, u=user_id: o.user_id.id == u)
        mine.with_user(user_id).action_request_approval()
    orders.with_user(admin).action_approve()
    not_approved = orders.filtered(lambda o: o.approval_state != "approved")
    if not_approved:
        raise RuntimeError(f"{len(not_approved)} orders were not approved before timing")


def _confirm(env, orders):
    seconds = []
    for order in orders:
        started = time.perf_counter()
        order.action_confirm()
        env.cr.commit()  # pylint: disable=invalid-commit
        seconds.append(time.perf_counter() - started)
    if any(order.state != "sale" for order in orders):
        raise RuntimeError("some orders were not confirmed")
    return seconds


def _result(args, names, timings):
    base, guarded = timings["baseline"], timings["guarded"]
    base_lat = summarize([s * 1000 for s in base])
    guard_lat = summarize([s * 1000 for s in guarded])
    measurements = [
        Measurement(f"confirm {args.orders} orders x {args.lines} lines", sum(guarded), unit="s",
                    baseline=sum(base), max_ratio=args.target,
                    note="completeness, approval, oversell (block), auto-tags, duplicates, stage trail"),
        Measurement("latency p50", guard_lat.p50, unit="ms", baseline=base_lat.p50),
        Measurement("latency p95", guard_lat.p95, unit="ms", baseline=base_lat.p95),
    ]
    return BenchResult(
        measurements,
        title=f"Confirmation of {args.orders} orders of {args.lines} lines: all guards on vs plain Odoo",
        extra={"databases": names},
    )
