"""Full order-to-cash flow with sales_document_registry versus Odoo alone."""

from . import datagen, rounds
from .report import BenchResult, Measurement
from .scratch import BASE_MODULES, REGISTRY_MODULE, log
from .timing import summarize

NAME = "order_to_cash"
DESCRIPTION = """\
Overhead of sales_document_registry on the full order-to-cash flow.

Builds two scratch databases in the same run: "baseline" with Odoo's
sale_management, sale_stock, stock_delivery and account only, and
"registry" with sales_document_registry installed as well. In each, the same
seeded flows are run (create, confirm, deliver, invoice, post, pay, with some
partial payments and returns), as the administrator, with chatter tracking on
and payments through the payment wizard, as a user would. Each flow is its
own transaction unless --batch-size says otherwise. The two databases take
turns every --slice flows, so that both see the same machine load. Reports
the registry / baseline ratio of the total time, of each stage and of the
per-flow latency.
"""

DEFAULT_TARGET = 1.2


def add_arguments(parser):
    rounds.add_flow_arguments(parser)
    parser.add_argument("--batch-size", type=int, default=1,
                        help="flows per transaction (default 1, as a user works)")
    parser.add_argument("--target", type=float, default=DEFAULT_TARGET,
                        help=f"maximum registry / baseline ratio (default {DEFAULT_TARGET:g})")
    parser.add_argument("--fast-payments", action="store_true",
                        help="pay in one batch instead of through the payment wizard")
    parser.add_argument("--quiet", action="store_true",
                        help="disable chatter tracking (the bulk generator's context)")


def run(args, session):
    specs = {
        "baseline": list(BASE_MODULES),
        "registry": [*BASE_MODULES, REGISTRY_MODULE],
    }
    names = session.create_databases(specs)
    labels = list(specs)
    masters = {}
    flows_needed = args.warmup + args.orders * args.repeat
    for label in labels:
        with session.environment(names[label]) as env:
            log(f"{label}: preparing master data")
            masters[label] = datagen.prepare_master_data(env, flows=flows_needed, seed=args.seed)
            env.cr.commit()
            if args.warmup:
                log(f"{label}: {args.warmup} warm-up flows")
                _flows(env, args, masters[label], args.warmup, seed=args.seed + 1000)
    results = rounds.run_rounds(
        session, names, labels, masters, args,
        lambda env, master, count, seed: _flows(env, args, master, count, seed),
    )
    return _result(args, names, results)


def _flows(env, args, master, n, seed):
    return datagen.generate_flows(
        env, n, seed=seed, batch_size=args.batch_size, master=master,
        quiet=args.quiet, use_wizard=not args.fast_payments,
    )


def _result(args, names, results):
    base = rounds.median_round(results["baseline"])
    reg = rounds.median_round(results["registry"])
    measurements = [
        Measurement(
            f"full flow x {args.orders}", reg.elapsed, unit="s", baseline=base.elapsed,
            max_ratio=args.target,
            note="create, confirm, deliver, invoice, post, pay (+ returns, partial payments)",
        ),
    ]
    for stage in datagen.STAGES:
        if stage in base.stage_seconds or stage in reg.stage_seconds:
            measurements.append(Measurement(
                f"  {stage}", reg.stage_seconds.get(stage, 0.0), unit="s",
                baseline=base.stage_seconds.get(stage, 0.0),
            ))
    if args.batch_size == 1 and base.batch_seconds and reg.batch_seconds:
        base_lat = summarize([s * 1000 for s in base.batch_seconds])
        reg_lat = summarize([s * 1000 for s in reg.batch_seconds])
        measurements += [
            Measurement("flow latency p50", reg_lat.p50, unit="ms", baseline=base_lat.p50),
            Measurement("flow latency p95", reg_lat.p95, unit="ms", baseline=base_lat.p95),
        ]
    measurements.append(Measurement(
        "throughput", reg.flows_per_second, unit="flows/s", baseline=base.flows_per_second))
    return BenchResult(
        measurements,
        title=(f"Order to cash, {args.orders} flows per database, batches of "
               f"{args.batch_size}, median of {args.repeat} round(s): "
               "registry vs baseline"),
        extra={
            "databases": names,
            "rounds": {label: [s.as_dict() for s in stats] for label, stats in results.items()},
        },
    )
