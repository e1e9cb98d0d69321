"""Targets and customer insight at 1,000,000 registry rows versus a plain read_group."""

import random
import time
from datetime import date

from odoo.tools import SQL

from . import registry_data
from .bench_registry import _master_factory, as_admin
from .report import BenchResult, Measurement
from .scratch import BASE_MODULES, REGISTRY_MODULE, log
from .timing import summarize

NAME = "insight"
DESCRIPTION = """\
Nightly recomputation of sales targets and customer insight, and a
salesperson's target card, at 1,000,000 registry rows.

Builds one scratch database with sales_document_insight (and what it depends
on) and the registry benchmark's data (see bench_registry: 5,000 customers,
50 salespeople in 5 teams, real flows copied in SQL up to --rows registry
rows over two years). Adds targets for every salesperson and every team, per
month over those two years, on the three bases (confirmed, invoiced, paid).

Measures, as the superuser (the nightly job):
- nightly targets: sales.target._cron_measure() (measure every target, set
  the pace, warn about those behind);
- nightly insight: res.partner._sd_insight_recompute() (every customer's
  figures and RFM segment);
against the baseline of a plain read_group of the same registry rows (the
rows of the three bases grouped by salesperson and month; by customer for
the insight), in the same run. And as one salesperson (record rules apply):
- target card: the kanban "My targets" read (web_search_read of the card's
  fields, live figures included), p95 over --repeat calls, against the same
  salesperson's read_group of her registry rows of the period.
"""

TARGET_NIGHTLY_S = 60.0
TARGET_CARD_MS = 100.0
INSIGHT_MODULE = "sales_document_insight"

CARD_FIELDS = {
    "name": {},
    "user_id": {"fields": {"display_name": {}}},
    "amount_target": {},
    "live_amount": {},
    "live_progress": {},
    "live_pace_expected": {},
    "live_pace_state": {},
    "forecast_amount": {},
    "currency_id": {"fields": {}},
}


def add_arguments(parser):
    parser.add_argument("--rows", type=int, default=1_000_000,
                        help="registry rows to generate (default 1,000,000)")
    parser.add_argument("--customers", type=int, default=5000, help="customers (default 5,000)")
    parser.add_argument("--repeat", type=int, default=30, help="target card calls (default 30)")
    parser.add_argument("--nightly-repeat", type=int, default=3, help="nightly runs of each job (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def _month_starts(first, last):
    day = date(first.year, first.month, 1)
    while day <= last:
        yield day
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _make_targets(env, facts):
    """Monthly targets of every salesperson and team over the registry's dates, on every basis."""
    # Set-up, not measured: no creation message per target.
    Target = env["sales.target"].with_context(tracking_disable=True, mail_create_nolog=True)
    if Target.search_count([]):
        return Target.search_count([])
    cr = env.cr
    cr.execute(SQL("SELECT MIN(date), MAX(date) FROM sales_document"))
    first, last = cr.fetchone()
    rng = random.Random(0)
    vals = []
    for month in _month_starts(first, last):
        for basis in ("confirmed", "invoiced", "paid"):
            for user_id in facts["users"]:
                vals.append({"user_id": user_id, "basis": basis, "date_from": month, "period": "month",
                             "amount_target": rng.randrange(20_000, 200_000), "company_id": facts["company_id"]})
            for team_id in sorted(set(facts["teams"])):
                vals.append({"team_id": team_id, "basis": basis, "date_from": month, "period": "month",
                             "amount_target": rng.randrange(200_000, 2_000_000),
                             "company_id": facts["company_id"]})
    Target.create(vals)
    env.flush_all()
    return len(vals)


def _timed(env, func, repeat):
    samples = []
    for _i in range(repeat):
        env.invalidate_all()
        start = time.perf_counter()
        func()
        env.flush_all()
        samples.append(time.perf_counter() - start)
        env.cr.rollback()
    return summarize(samples)


def _baseline_targets(env):
    return env["sales.document"]._read_group(
        [("doc_type", "in", ("order", "invoice", "credit_note", "payment")), ("state", "in", ("open", "done"))],
        ["user_id", "date:day", "doc_type"], ["amount_total:sum"],
    )


def _baseline_insight(env):
    return env["sales.document"]._read_group(
        [("doc_type", "=", "order"), ("state", "in", ("open", "done"))],
        ["partner_id"], ["amount_total:sum", "date:max", "date:min", "__count"],
    )


def run(args, session):
    dbname = session.create_databases({"insight": [*BASE_MODULES, REGISTRY_MODULE, INSIGHT_MODULE]})["insight"]
    per_kind = args.rows // 4
    with session.environment(dbname) as env:
        facts, generated = registry_data.ensure_data(env, per_kind, _master_factory(env, args), seed=args.seed)
        env.cr.commit()
        log("data generated" if generated else "reusing the generated data of the kept database")
        targets = _make_targets(env, facts)
        env.cr.commit()
        env.cr.execute(SQL("SELECT count(*) FROM sales_document"))
        rows = env.cr.fetchone()[0]
        log(f"registry rows: {rows}; targets: {targets}")

        log("nightly jobs")
        nightly_targets = _timed(env, lambda: env["sales.target"]._cron_measure(), args.nightly_repeat)
        baseline_targets = _timed(env, lambda: _baseline_targets(env), args.nightly_repeat)
        nightly_insight = _timed(env, lambda: env["res.partner"]._sd_insight_recompute(), args.nightly_repeat)
        baseline_insight = _timed(env, lambda: _baseline_insight(env), args.nightly_repeat)
        # Keep one measured state for the card.
        env["sales.target"]._cron_measure()
        env.cr.commit()

        # The card: a salesperson's current month (the latest month of the data).
        user_id = facts["users"][0]
        env["res.users"].browse(user_id).groups_id = [(4, env.ref("sales_team.group_sale_salesman").id)]
        env.cr.commit()
        env.cr.execute(SQL("SELECT MAX(date) FROM sales_document"))
        day = env.cr.fetchone()[0]
        month = date(day.year, day.month, 1)
        seller = as_admin(env, facts)(user=user_id)
        card_domain = [("user_id", "=", user_id), ("date_from", "<=", day), ("date_to", ">=", day)]
        doc_domain = [("user_id", "=", user_id), ("date", ">=", month), ("date", "<=", day),
                      ("doc_type", "in", ("order", "invoice", "credit_note", "payment"))]
        card, base = [], []
        for rep in range(args.repeat + 3):
            for side in (("card", "base") if rep % 2 else ("base", "card")):
                seller.invalidate_all()
                start = time.perf_counter()
                if side == "card":
                    seller["sales.target"].web_search_read(card_domain, CARD_FIELDS, limit=80)
                else:
                    seller["sales.document"].read_group(doc_domain, ["amount_total:sum"], ["doc_type"])
                elapsed = (time.perf_counter() - start) * 1000
                if rep >= 3:
                    (card if side == "card" else base).append(elapsed)
        env.cr.rollback()
    card_stats, base_stats = summarize(card), summarize(base)
    measurements = [
        Measurement("nightly targets", nightly_targets.p50, unit="s", baseline=baseline_targets.p50,
                    max_value=TARGET_NIGHTLY_S, note=f"{targets} targets; baseline: read_group by user, day, type"),
        Measurement("nightly insight", nightly_insight.p50, unit="s", baseline=baseline_insight.p50,
                    max_value=TARGET_NIGHTLY_S, note="every customer; baseline: read_group by customer"),
        Measurement("target card p50", card_stats.p50, unit="ms", baseline=base_stats.p50),
        Measurement("target card p95", card_stats.p95, unit="ms", baseline=base_stats.p95,
                    max_value=TARGET_CARD_MS, note="baseline: the salesperson's read_group of her rows"),
    ]
    return BenchResult(
        measurements,
        title=f"Targets and customer insight at {rows:,} registry rows",
        extra={
            "database": dbname,
            "registry_rows": rows,
            "targets": targets,
            "nightly_targets": nightly_targets.as_dict(),
            "nightly_insight": nightly_insight.as_dict(),
            "baseline_targets": baseline_targets.as_dict(),
            "baseline_insight": baseline_insight.as_dict(),
            "card_ms": card_stats.as_dict(),
            "card_baseline_ms": base_stats.as_dict(),
            "card_period": [str(month), str(day)],
        },
    )
