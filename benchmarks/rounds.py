"""Timed rounds of order-to-cash flows that databases run in turns.

Shared by the benchmarks that compare the same flows across several scratch
databases (``order_to_cash``, ``audit``): the common options, the turn order,
the round loop and the choice of the median round.
"""

from . import datagen
from .scratch import log


def add_flow_arguments(parser, slice_help="flows run in one database before the next takes its turn"):
    """The options every flow-comparing benchmark accepts."""
    parser.add_argument("--orders", type=int, default=200,
                        help="flows (orders) timed per database and round (default 200)")
    parser.add_argument("--warmup", type=int, default=10,
                        help="untimed flows run first in each database (default 10)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="timed rounds, each database going first in turn; "
                             "the median round counts (default 1)")
    parser.add_argument("--slice", type=int, default=10, help=f"{slice_help} (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def turns(labels, number):
    """The databases in the order they take turn ``number``: each goes first in turn."""
    labels = tuple(labels)
    shift = number % len(labels)
    return labels[shift:] + labels[:shift]


def run_rounds(session, names, labels, masters, args, flows):
    """``args.repeat`` rounds of ``args.orders`` flows in each database, in turns of ``args.slice``.

    ``flows(env, master, count, seed)`` runs ``count`` flows and returns their
    :class:`datagen.FlowStats`; every database runs the same seeds. Returns
    ``{label: [FlowStats of each round]}``.
    """
    rounds = {label: [] for label in labels}
    slice_size = max(1, args.slice)
    for round_no in range(args.repeat):
        log(f"round {round_no + 1}/{args.repeat}: {args.orders} flows per database, "
            f"taking turns every {slice_size}")
        totals = {label: datagen.FlowStats() for label in labels}
        for slice_no, start in enumerate(range(0, args.orders, slice_size)):
            count = min(slice_size, args.orders - start)
            seed = args.seed + 7919 * round_no + slice_no
            for label in turns(labels, slice_no + round_no):
                with session.environment(names[label]) as env:
                    totals[label].merge(flows(env, masters[label], count, seed))
        for label in labels:
            stats = totals[label]
            log(f"{label}: {stats.elapsed:.1f} s, {stats.flows_per_second:.2f} flows/s")
            rounds[label].append(stats)
    return rounds


def median_round(stats_list):
    """The round whose total time is the median (the lower one for an even count)."""
    ordered = sorted(stats_list, key=lambda s: s.elapsed)
    return ordered[(len(ordered) - 1) // 2]
