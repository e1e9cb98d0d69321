"""Throughput of the order-to-cash data generator (flows per second)."""

import time

from . import datagen
from .report import BenchResult, Measurement
from .scratch import BASE_MODULES, REGISTRY_MODULE, log

NAME = "datagen"
DESCRIPTION = """\
Throughput of the order-to-cash data generator (benchmarks/datagen.py).

Creates one scratch database (Odoo's sale_management, sale_stock,
stock_delivery and account; --registry adds sales_document_registry),
prepares master data, then generates --flows complete flows (order, delivery,
invoice, payment, some returns and partial payments) in batches and reports
flows per second overall and the time per flow of each stage.
"""

# 10,000 flows "in a few minutes" on a 2-core machine: at least 30 flows/s.
TARGET_FLOWS_PER_SECOND = 30.0


def add_arguments(parser):
    parser.add_argument("--flows", type=int, default=1000, help="number of flows (default 1000)")
    parser.add_argument("--batch-size", type=int, default=100,
                        help="flows per batch and transaction (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--registry", action="store_true",
                        help=f"install {REGISTRY_MODULE} in the database too")
    parser.add_argument("--target", type=float, default=TARGET_FLOWS_PER_SECOND,
                        help=f"minimum flows per second (default {TARGET_FLOWS_PER_SECOND:g})")


def run(args, session):
    modules = list(BASE_MODULES) + ([REGISTRY_MODULE] if args.registry else [])
    label = "registry" if args.registry else "baseline"
    dbname = session.create_databases({label: modules})[label]
    with session.environment(dbname) as env:
        log(f"preparing master data for {args.flows} flows")
        master = datagen.prepare_master_data(env, flows=args.flows, seed=args.seed)
        env.cr.commit()
        log(f"master data ready in {master.setup_seconds:.1f} s; generating {args.flows} flows")
        last = [time.perf_counter()]

        def progress(done, total, stats):
            now = time.perf_counter()
            if now - last[0] >= 10 or done == total:
                last[0] = now
                elapsed = sum(stats.batch_seconds)
                log(f"{done}/{total} flows, {done / elapsed:.1f} flows/s")

        stats = datagen.generate_flows(
            env, args.flows, seed=args.seed, batch_size=args.batch_size, master=master,
            progress=progress,
        )
    measurements = [
        Measurement(
            "throughput", stats.flows_per_second, unit="flows/s",
            min_value=args.target,
            note=f"{stats.flows} flows in {stats.elapsed:.1f} s",
        ),
        Measurement("elapsed", stats.elapsed, unit="s"),
    ]
    for stage, seconds in stats.stage_seconds.items():
        measurements.append(Measurement(
            f"{stage} per flow", seconds / stats.flows * 1000, unit="ms"))
    return BenchResult(
        measurements,
        title=(f"Data generator: {stats.flows} flows, batches of {args.batch_size}, "
               f"{label} database"),
        extra={"database": dbname, "modules": modules, "stats": stats.as_dict(),
               "master_setup_seconds": master.setup_seconds},
    )
