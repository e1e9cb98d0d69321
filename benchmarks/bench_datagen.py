"""Throughput of the order-to-cash data generator (flows per second), ORM and clone modes."""

import time

from . import datagen
from .report import BenchResult, Measurement
from .scratch import BASE_MODULES, REGISTRY_MODULE, log

NAME = "datagen"
DESCRIPTION = """\
Throughput of the order-to-cash data generator (benchmarks/datagen.py).

Creates one scratch database (Odoo's sale_management, sale_stock,
stock_delivery and account; --registry adds sales_document_registry). In it,
--orm-flows complete flows (order, delivery, invoice, payment, some returns
and partial payments) are generated through the ORM, then --flows flows in
--mode (clone by default: a few template flows through the ORM, the rest
copied in SQL). Master data is prepared untimed before each. Reports the
flows per second of each mode, the time of the --flows run against the
target (300 s for 10,000 flows, proportionally), its ratio to the ORM mode's
time for the same number of flows (extrapolated from --orm-flows), and the
time of each stage.
"""

# "10,000 flows in a few minutes" on a 2-core machine.
TARGET_FLOWS = 10_000
TARGET_SECONDS = 300.0


def add_arguments(parser):
    parser.add_argument("--flows", type=int, default=TARGET_FLOWS,
                        help=f"flows generated in --mode (default {TARGET_FLOWS})")
    parser.add_argument("--mode", choices=datagen.MODES, default="clone",
                        help="mode of the --flows run (default clone)")
    parser.add_argument("--orm-flows", type=int, default=50,
                        help="flows generated through the ORM first, as the reference "
                             "(default 50; 0 skips it)")
    parser.add_argument("--batch-size", type=int, default=100,
                        help="ORM mode: flows per batch and transaction (default 100)")
    parser.add_argument("--clone-batch-size", type=int, default=2500,
                        help="clone mode: copies per batch and transaction (default 2500)")
    parser.add_argument("--days-back", type=int, default=365,
                        help="clone mode: copies dated up to this many days back (default 365)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--registry", action="store_true",
                        help=f"install {REGISTRY_MODULE} in the database too")
    parser.add_argument("--target-seconds", type=float, default=TARGET_SECONDS,
                        help=f"maximum seconds for {TARGET_FLOWS} flows, proportionally for "
                             f"other counts (default {TARGET_SECONDS:g})")


def _generate(env, flows, mode, args, label):
    log(f"{label}: preparing master data for {flows} flows")
    master = datagen.prepare_master_data(env, flows=flows, seed=args.seed)
    env.cr.commit()
    log(f"{label}: master data ready in {master.setup_seconds:.1f} s; generating {flows} flows")
    last = [time.perf_counter()]

    def progress(done, total, stats):
        now = time.perf_counter()
        if now - last[0] >= 10 or done == total:
            last[0] = now
            log(f"{label}: {done}/{total} flows")

    started = time.perf_counter()
    stats = datagen.generate_flows(
        env, flows, seed=args.seed, batch_size=args.batch_size, master=master, mode=mode,
        clone_batch_size=args.clone_batch_size, days_back=args.days_back, progress=progress,
    )
    seconds = time.perf_counter() - started
    log(f"{label}: {stats.flows} flows in {seconds:.1f} s ({stats.flows / seconds:.1f} flows/s)")
    return stats, seconds, master


def run(args, session):
    modules = list(BASE_MODULES) + ([REGISTRY_MODULE] if args.registry else [])
    label = "registry" if args.registry else "baseline"
    dbname = session.create_databases({label: modules})[label]
    extra = {"database": dbname, "modules": modules}
    with session.environment(dbname) as env:
        orm = None
        if args.orm_flows > 0 and args.mode != "orm":
            orm_stats, orm_seconds, orm_master = _generate(env, args.orm_flows, "orm", args, "orm")
            orm = orm_seconds / orm_stats.flows  # seconds per flow
            extra["orm"] = dict(orm_stats.as_dict(), wall_seconds=orm_seconds,
                                master_setup_seconds=orm_master.setup_seconds)
        stats, seconds, master = _generate(env, args.flows, args.mode, args, args.mode)
        extra[args.mode] = dict(stats.as_dict(), wall_seconds=seconds,
                                master_setup_seconds=master.setup_seconds)
    if args.mode == "orm":
        orm = seconds / stats.flows
    rate = stats.flows / seconds
    budget = args.target_seconds * args.flows / TARGET_FLOWS
    measurements = [
        Measurement(
            f"{args.flows} flows, {args.mode} mode", seconds, unit="s",
            baseline=orm * stats.flows if orm else None,
            max_value=budget,
            note="; ".join(filter(None, [
                f"ORM time extrapolated from {args.orm_flows} flows"
                if orm and args.mode != "orm" else "",
                f"target {args.target_seconds:g} s per {TARGET_FLOWS} flows",
            ])),
        ),
        Measurement(
            f"throughput, {args.mode} mode", rate, unit="flows/s",
            baseline=1 / orm if orm else None,
            min_value=TARGET_FLOWS / args.target_seconds,
        ),
    ]
    if orm and args.mode != "orm":
        measurements.append(Measurement("throughput, orm mode", 1 / orm, unit="flows/s"))
    if args.mode == "clone":
        measurements.append(Measurement("template flows (ORM)", stats.templates, unit="flows"))
    for stage, stage_seconds in stats.stage_seconds.items():
        if args.mode == "orm":
            measurements.append(Measurement(
                f"  {stage} per flow", stage_seconds / stats.flows * 1000, unit="ms"))
        elif stage.startswith(("clone ", "copy ")):
            # The template flows' own ORM stages are inside "clone templates".
            measurements.append(Measurement(f"  {stage}", stage_seconds, unit="s"))
    if args.mode == "clone":
        rows = sum(stats.rows_copied.values())
        measurements.append(Measurement("rows copied", rows, unit="rows",
                                        note=f"{rows / stats.clones:.0f} per copied flow"
                                        if stats.clones else ""))
    return BenchResult(
        measurements,
        title=(f"Data generator: {args.flows} flows in {args.mode} mode"
               + (f" vs {args.orm_flows} through the ORM" if orm and args.mode != "orm" else "")
               + f", {label} database"),
        extra=extra,
    )
