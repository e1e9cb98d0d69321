"""Command line of the benchmarks: ``python -m benchmarks NAME [options]``.

Each benchmark is a module ``benchmarks/bench_<something>.py`` defining
``NAME``, ``DESCRIPTION``, ``add_arguments(parser)`` and
``run(args, session) -> report.BenchResult``; it is found by its file name,
so adding a benchmark needs no change here. ``python -m benchmarks list``
lists them.
"""

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

from . import report
from .scratch import BenchError, BenchSession

PACKAGE_DIR = Path(__file__).resolve().parent


def discover():
    """Return ``{name: module}`` for every ``bench_*.py`` module, sorted by name."""
    found = {}
    for path in sorted(PACKAGE_DIR.glob("bench_*.py")):
        module = importlib.import_module(f"{__package__}.{path.stem}")
        name = getattr(module, "NAME", None)
        if not name or not callable(getattr(module, "run", None)):
            continue
        if name in found:
            raise BenchError(f"two benchmarks are named {name!r}: {found[name].__file__}, {path}")
        found[name] = module
    return dict(sorted(found.items()))


def print_list(benchmarks, stream=sys.stdout):
    width = max((len(n) for n in benchmarks), default=0)
    print("Benchmarks (python -m benchmarks NAME --help for options):", file=stream)
    for name, module in benchmarks.items():
        summary = (getattr(module, "DESCRIPTION", "") or "").strip().splitlines()
        print(f"  {name:<{width}}  {summary[0] if summary else ''}", file=stream)


def build_parser(name, module):
    parser = argparse.ArgumentParser(
        prog=f"python -m benchmarks {name}",
        description=(getattr(module, "DESCRIPTION", "") or "").strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common = parser.add_argument_group("common options")
    common.add_argument("--keep", action="store_true",
                        help="keep the scratch databases instead of dropping them")
    common.add_argument("--reuse", action="store_true",
                        help="fixed database names; reuse them when they exist (implies --keep)")
    common.add_argument("--strict", action="store_true",
                        help="exit with status 1 when a measurement misses its target")
    common.add_argument("--no-json", action="store_true",
                        help="do not write the JSON result file")
    add_arguments = getattr(module, "add_arguments", None)
    if add_arguments:
        add_arguments(parser)
    return parser


def run_benchmark(name, module, argv):
    args = build_parser(name, module).parse_args(argv)
    started = time.time()
    with BenchSession(name, keep=args.keep, reuse=args.reuse) as session:
        result = module.run(args, session)
    measurements = result.measurements
    print()
    print(report.format_table(measurements, title=result.title or f"Benchmark {name}"))
    verdict = report.overall_verdict(measurements)
    print(f"\noverall: {verdict}")
    if not args.no_json:
        options = dict(vars(args))
        path = report.write_json(name, measurements, options=options, extra=result.extra,
                                 started=started)
        print(f"results written to {path.relative_to(PACKAGE_DIR.parent)}")
    if args.strict and verdict == report.FAIL:
        return 1
    return 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        benchmarks = discover()
        if not argv or argv[0] in ("list", "-h", "--help"):
            print_list(benchmarks)
            return 0
        name, rest = argv[0], argv[1:]
        if name not in benchmarks:
            print(f"error: unknown benchmark {name!r}", file=sys.stderr)
            print_list(benchmarks, stream=sys.stderr)
            return 2
        return run_benchmark(name, benchmarks[name], rest)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception:
        traceback.print_exc()
        return 1
