"""Audit overhead on the order-to-cash flow: sales_document_audit and OCA auditlog."""

import shutil
import subprocess
import zipfile
from contextlib import nullcontext

from . import datagen, rounds
from .report import BenchResult, Measurement
from .scratch import BASE_MODULES, BUILD, REGISTRY_MODULE, BenchError, log
from .timing import summarize

NAME = "audit"
DESCRIPTION = """\
Overhead of auditing on the full order-to-cash flow, compared with OCA auditlog.

Four scratch databases in the same run, all with Odoo's sale_management,
sale_stock, stock_delivery, account and sales_document_registry:
"off" (no auditing, the baseline), "audit" (+ sales_document_audit with its
default rules), "auditlog_full" and "auditlog_fast" (+ OCA auditlog with
rules on the same models, sale.order, sale.order.line, stock.picking,
stock.move, account.move, account.move.line and account.payment, in full
or fast mode). OCA auditlog is downloaded from the package index when the
benchmark starts (pip download --no-deps) and unpacked under .build/; it is
never part of the repository.

In each database the same seeded flows run as in the order_to_cash
benchmark (create, confirm, deliver, invoice, post, pay, with some partial
payments and returns), as the administrator, with chatter tracking on,
payments through the payment wizard, each flow its own transaction. The
databases take turns every --slice flows. Then client_order_ref is written
on --writes of those orders, one transaction per write, the databases again
taking turns (--write-rounds times over the same orders). Reports each
database's time as a ratio to "off", the audit rows written, and the time
the sealing job takes to seal them. --peers none leaves the two OCA auditlog
databases out, for quick runs while working on the audit trail.
"""

DEFAULT_TARGET = 1.05
DEFAULT_WRITE_TARGET = 1.10
LABELS = ("off", "audit", "auditlog_full", "auditlog_fast")
PEER_LABELS = ("auditlog_full", "auditlog_fast")
# The audit database written with the capture reduced to one constant row per
# transaction (``--floor``): what any capture inserting its row costs.
FLOOR_LABEL = "floor"
AUDIT_MODULE = "sales_document_audit"
OCA_MODULE = "auditlog"
OCA_REQUIREMENT = "odoo-addon-auditlog>=18.0,<18.1"
OCA_DIR = BUILD / "bench-addons" / "oca-auditlog"


def add_arguments(parser):
    rounds.add_flow_arguments(parser, slice_help="flows (and writes) run in one database before the next takes its turn")
    parser.add_argument("--writes", type=int, default=None,
                        help="orders whose client_order_ref is written, one transaction "
                             "each (default: --orders)")
    parser.add_argument("--write-rounds", type=int, default=1,
                        help="times the --writes orders are written, one transaction per "
                             "write each time (default 1)")
    parser.add_argument("--target", type=float, default=DEFAULT_TARGET,
                        help=f"maximum audit / off ratio of the flow (default {DEFAULT_TARGET:g})")
    parser.add_argument("--write-target", type=float, default=DEFAULT_WRITE_TARGET,
                        help=f"maximum audit / off ratio of the single-field writes (default {DEFAULT_WRITE_TARGET:g})")
    parser.add_argument("--floor", action="store_true",
                        help="also write in the audit database with the capture replaced by one "
                             "constant row inserted per transaction (the floor of the single-write "
                             "figure), taking turns with the others")
    parser.add_argument("--form", action="store_true",
                        help="then save the same field from the order form (web_save, which reads "
                             "the order back for the form), taking turns the same way")
    parser.add_argument("--peers", choices=("auditlog", "none"), default="auditlog",
                        help="databases compared besides off and audit: OCA auditlog in full "
                             "and fast mode (default), or none (quicker runs, no download)")


# ---------------------------------------------------------------------------
# OCA auditlog, fetched at run time
# ---------------------------------------------------------------------------


def fetch_oca_auditlog(session):
    """Download and unpack OCA auditlog; return the addons directory holding it."""
    shutil.rmtree(OCA_DIR, ignore_errors=True)
    wheels = OCA_DIR / "wheels"
    wheels.mkdir(parents=True)
    python = session.devtool.venv_python(session.cfg)
    log(f"downloading {OCA_REQUIREMENT} with pip")
    proc = subprocess.run(
        [str(python), "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         "--disable-pip-version-check", "--dest", str(wheels), OCA_REQUIREMENT],
        capture_output=True, text=True,
    )
    found = sorted(wheels.glob("*.whl"))
    if proc.returncode or len(found) != 1:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
        raise BenchError(
            f"cannot download OCA auditlog ({OCA_REQUIREMENT}) with pip from the package "
            f"index; the comparison needs it. pip said:\n{tail}"
        )
    unpacked = OCA_DIR / "unpacked"
    with zipfile.ZipFile(found[0]) as wheel:
        wheel.extractall(unpacked)
    addons = unpacked / "odoo" / "addons"
    if not (addons / OCA_MODULE / "__manifest__.py").exists():
        raise BenchError(f"{found[0].name} holds no odoo/addons/{OCA_MODULE} module")
    log(f"unpacked {found[0].name} into {addons}")
    return addons, found[0].name


# ---------------------------------------------------------------------------
# Run
# ---------------------------------------------------------------------------


def run(args, session):
    labels = LABELS if args.peers == "auditlog" else tuple(x for x in LABELS if x not in PEER_LABELS)
    wheel = None
    if args.peers == "auditlog":
        addons, wheel = fetch_oca_auditlog(session)
        session.add_addons_dir(addons)
    base = [*BASE_MODULES, REGISTRY_MODULE]
    specs = {
        "off": base,
        "audit": [*base, AUDIT_MODULE],
        "auditlog_full": [*base, OCA_MODULE],
        "auditlog_fast": [*base, OCA_MODULE],
    }
    names = session.create_databases({label: specs[label] for label in labels})
    session.registry(names["off"])  # loads Odoo, and with it the addons path
    from . import audit_support as bench  # imports Odoo: only once it is loaded

    masters = {}
    flows_needed = args.warmup + args.orders * args.repeat
    for label in labels:
        with session.environment(names[label]) as env:
            log(f"{label}: preparing master data")
            masters[label] = datagen.prepare_master_data(env, flows=flows_needed, seed=args.seed)
            env.cr.commit()  # pylint: disable=invalid-commit
            if label.startswith("auditlog_"):
                mode = label.split("_", 1)[1]
                rules = bench.subscribe_oca_auditlog(env, log_type=mode)
                log(f"{label}: {len(rules)} auditlog rules subscribed in {mode} mode")
            if args.warmup:
                log(f"{label}: {args.warmup} warm-up flows")
                _flows(env, masters[label], args.warmup, seed=args.seed + 1000)
                _check_rows(label, _rows_written(session, names[label], label, bench, {}))
            if label == "audit":
                bench.seal_all(env)  # what warm-up wrote is not part of the timed sealing

    marks = {label: _row_marks(session, names[label], label, bench) for label in labels}
    results = rounds.run_rounds(session, names, labels, masters, args, _flows)
    slice_size = max(1, args.slice)
    flow_rows = {label: _rows_written(session, names[label], label, bench, marks[label])
                 for label in labels}
    for label in labels:
        _check_rows(label, flow_rows[label])

    writes = args.orders if args.writes is None else args.writes
    write_seconds = _write_phase(session, names, labels, results, writes, slice_size, bench,
                                 max(1, args.write_rounds), floor=args.floor)
    write_rows = {label: _rows_written(session, names[label], label, bench, marks[label])
                  for label in labels}
    if args.floor:
        # The floor's constant rows went to the audit database too.
        write_rows["audit"]["sales_document_audit_log"] -= len(write_seconds[FLOOR_LABEL])
    save_seconds = save_rows = None
    if args.form:
        save_seconds = _write_phase(session, names, labels, results, writes, slice_size, bench,
                                    max(1, args.write_rounds), form=True)
        save_rows = {label: _rows_written(session, names[label], label, bench, marks[label])
                     for label in labels}

    with session.environment(names["audit"]) as env:
        unsealed = bench.unsealed_rows(env)
        log(f"audit: sealing {unsealed} rows")
        seal_seconds = bench.seal_all(env)
        left = bench.unsealed_rows(env)
        if left:
            raise BenchError(f"the sealing job left {left} audit rows unsealed")
    return _result(args, names, labels, wheel, results, flow_rows, write_seconds, write_rows,
                   unsealed, seal_seconds, save_seconds, save_rows)


def _flows(env, master, n, seed):
    return datagen.generate_flows(env, n, seed=seed, batch_size=1, master=master,
                                  quiet=False, use_wizard=True)


def _check_rows(label, counts):
    """Refuse figures of a database whose auditing silently did nothing."""
    if counts and not any(counts.values()):
        raise BenchError(f"{label}: the flows wrote no audit rows; auditing is not on")


def _audit_tables(label):
    if label == "audit":
        return ("sales_document_audit_log",)
    if label.startswith("auditlog_"):
        return ("auditlog_log", "auditlog_log_line")
    return ()


def _row_marks(session, dbname, label, bench):
    marks = {}
    with session.environment(dbname) as env:
        for table in _audit_tables(label):
            marks[table] = bench.rows_since(env, table)[1]
    return marks


def _rows_written(session, dbname, label, bench, marks):
    """Rows written per audit table since ``marks``; moves the marks forward."""
    counts = {}
    with session.environment(dbname) as env:
        for table in _audit_tables(label):
            counts[table], marks[table] = bench.rows_since(env, table, marks.get(table, 0))
    return counts


def _write_phase(session, names, labels, results, writes, slice_size, bench, write_rounds=1, floor=False,
                 form=False):
    """Write client_order_ref on ``writes`` orders of the last round, in turns,
    ``write_rounds`` times; with ``floor``, the audit database takes a second
    turn each time, its capture reduced to one constant row per transaction;
    with ``form``, each write is the save of the order form."""
    order_ids = {}
    write_labels = (*labels, FLOOR_LABEL) if floor else labels
    databases = dict(names, **({FLOOR_LABEL: names["audit"]} if floor else {}))
    for label in labels:
        ids = results[label][-1].order_ids
        if len(ids) < writes:
            raise BenchError(f"--writes {writes} needs at least as many timed flows (--orders)")
        order_ids[label] = ids[:writes]
    if floor:
        order_ids[FLOOR_LABEL] = order_ids["audit"]
    how = "saving client_order_ref from the order form" if form else "writing client_order_ref"
    log(f"{how} on {writes} orders per database {write_rounds} time(s), taking turns every {slice_size}")
    seconds = {label: [] for label in write_labels}
    specifications = {}
    slices = [(write_round, start) for write_round in range(write_rounds)
              for start in range(0, writes, slice_size)]
    for slice_no, (write_round, start) in enumerate(slices):
        for label in rounds.turns(write_labels, slice_no):
            with session.environment(databases[label]) as env:
                admin = env.ref("base.user_admin")
                orders = env(user=admin.id)["sale.order"].browse(
                    order_ids[label][start:start + slice_size])
                if form and label not in specifications:
                    specifications[label] = bench.form_specification(orders.env)
                # Unique per run, phase, round and label: the registry refuses one customer reference twice.
                value = f"audit-bench-{session.token}-{'form' if form else 'write'}-{label}-{write_round}-{start}"
                capture = (bench.one_insert_per_transaction(admin.company_id.id) if label == FLOOR_LABEL
                           else nullcontext())
                with capture:
                    seconds[label] += bench.write_one_field(env, orders, value=value,
                                                            specification=specifications.get(label))
    for label in write_labels:
        log(f"{label}: {sum(seconds[label]):.1f} s for {len(seconds[label])} writes")
    return seconds


# ---------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------


def _rows_per(label, counts, per, what):
    """Rows written per flow (or write) and a note with the totals."""
    if label == "audit":
        rows = counts["sales_document_audit_log"]
        return rows / per, f"{rows} audit rows for {per} {what}s"
    logs, lines = counts["auditlog_log"], counts["auditlog_log_line"]
    return (logs + lines) / per, f"{logs} logs + {lines} lines for {per} {what}s"


def _write_measurements(what, short, seconds, target=None, note=""):
    """Total and p50 of each label's writes in ``seconds`` against auditing off."""
    writes = len(seconds["off"])
    labels = [label for label in seconds if label != "off"]
    measurements = [
        Measurement(
            f"{what} x {writes}: {label}", sum(seconds[label]), unit="s",
            baseline=sum(seconds["off"]), max_ratio=target if label == "audit" else None,
            note=("the capture reduced to one constant row per transaction" if label == FLOOR_LABEL else note),
        )
        for label in labels
    ]
    # The typical write, less moved than the total by a write another process stalled.
    off_p50 = summarize([s * 1000 for s in seconds["off"]]).p50
    measurements += [
        Measurement(f"{short} latency p50: {label}", summarize([s * 1000 for s in seconds[label]]).p50, unit="ms",
                    baseline=off_p50)
        for label in labels
    ]
    return measurements


def _result(args, names, labels, wheel, results, flow_rows, write_seconds, write_rows,
            unsealed, seal_seconds, save_seconds=None, save_rows=None):
    median = {label: rounds.median_round(results[label]) for label in labels}
    peers = [label for label in labels if label in PEER_LABELS]
    off = median["off"]
    flows = args.orders * args.repeat
    writes = len(write_seconds["off"])
    measurements = [
        Measurement(
            f"flow x {args.orders}: audit", median["audit"].elapsed, unit="s",
            baseline=off.elapsed, max_ratio=args.target,
            note="create, confirm, deliver, invoice, post, pay (+ returns, partial payments)",
        ),
    ]
    for stage in datagen.STAGES:
        if stage in off.stage_seconds or stage in median["audit"].stage_seconds:
            measurements.append(Measurement(
                f"  {stage}", median["audit"].stage_seconds.get(stage, 0.0), unit="s",
                baseline=off.stage_seconds.get(stage, 0.0),
            ))
    for label in peers:
        measurements.append(Measurement(
            f"flow x {args.orders}: {label}", median[label].elapsed, unit="s",
            baseline=off.elapsed, note="OCA auditlog, for comparison",
        ))
    off_lat = summarize([s * 1000 for s in off.batch_seconds])
    for label in labels[1:]:
        lat = summarize([s * 1000 for s in median[label].batch_seconds])
        measurements.append(Measurement(f"flow latency p95: {label}", lat.p95, unit="ms",
                                        baseline=off_lat.p95))
    measurements += _write_measurements("write 1 field", "write", write_seconds, target=args.write_target,
                                        note="client_order_ref, one transaction per write")
    if save_seconds:
        measurements += _write_measurements(
            "save 1 field from the form", "save", save_seconds,
            note="web_save of client_order_ref with the order form's fields read back",
        )
    for label in labels[1:]:
        rows, note = _rows_per(label, flow_rows[label], flows, "flow")
        measurements.append(Measurement(f"rows written per flow: {label}", rows,
                                        unit="rows", note=note))
    for label in labels[1:]:
        rows, note = _rows_per(label, write_rows[label], max(writes, 1), "write")
        measurements.append(Measurement(f"rows written per write: {label}", rows,
                                        unit="rows", note=note))
    if save_rows:
        for label in labels[1:]:
            rows, note = _rows_per(label, save_rows[label], max(len(save_seconds["off"]), 1), "save")
            measurements.append(Measurement(f"rows written per save: {label}", rows, unit="rows", note=note))
    measurements.append(Measurement(
        f"seal {unsealed} audit rows", seal_seconds, unit="s",
        note=f"{unsealed / seal_seconds:.0f} rows/s" if seal_seconds else "",
    ))
    return BenchResult(
        measurements,
        title=(f"Audit overhead, {args.orders} order-to-cash flows per database, median of "
               f"{args.repeat} round(s): vs auditing off"
               + (f" ({wheel} for comparison)" if wheel else "")),
        extra={
            "databases": names,
            "oca_auditlog": wheel,
            "rounds": {label: [s.as_dict() for s in stats] for label, stats in results.items()},
            "flow_rows": flow_rows,
            "write_rows": write_rows,
            "write_seconds": write_seconds,
            "save_rows": save_rows,
            "save_seconds": save_seconds,
            "sealed_rows": unsealed,
            "seal_seconds": seal_seconds,
        },
    )
