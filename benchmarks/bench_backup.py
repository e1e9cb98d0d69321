"""Full encrypted backup versus a raw pg_dump, at two database sizes."""

import argparse
import configparser
import json
import subprocess
import sys
from pathlib import Path

from . import registry_data
from .bench_registry import _master_factory
from .report import BenchResult, Measurement
from .scratch import BASE_MODULES, REGISTRY_MODULE, REPO, log

NAME = "backup"
DESCRIPTION = """\
Full encrypted backup (sales_document_backup) versus a raw pg_dump, in one run.

Builds one scratch database with the registry and the backup addon, then
measures it twice: as installed (small) and after growing it with --rows
sales documents copied in SQL from real flows (large). At each size, raw
`pg_dump --format=custom` runs and full backups (dump, filestore, manifest,
compression, AES-256-GCM encryption) alternate --repeat times (medians), the
backup in a fresh child process whose peak memory is read; then the archive
is decrypted, restored into a scratch database and compared with its manifest
(the restore test), timed. Targets: backup at most 1.3 x pg_dump at each size;
peak memory of the large database at most 1.25 x the small one (flat).
"""

TARGET_RATIO = 1.3
TARGET_MEMORY_RATIO = 1.25
BACKUP_MODULE = "sales_document_backup"


def add_arguments(parser):
    parser.add_argument("--rows", type=int, default=200_000,
                        help="sales documents added for the large size, a quarter per kind (default 200,000)")
    parser.add_argument("--customers", type=int, default=2000, help="customers of the large size (default 2000)")
    parser.add_argument("--repeat", type=int, default=3, help="raw dump + backup rounds per size (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--target", type=float, default=TARGET_RATIO,
                        help=f"maximum backup / pg_dump ratio (default {TARGET_RATIO:g})")


def _filestore(session, dbname):
    config = configparser.ConfigParser(interpolation=None)
    config.read(session.conf)
    return Path(config["options"]["data_dir"]) / "filestore" / dbname


def _measure(session, dbname, repeat):
    """The measurement of backup_measure.py, in a child interpreter."""
    script = REPO / "benchmarks" / "backup_measure.py"
    command = [sys.executable, str(script), dbname, "--repeat", str(repeat)]
    filestore = _filestore(session, dbname)
    if filestore.is_dir():
        command += ["--filestore", str(filestore)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"backup measurement failed on {dbname}:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def _rows(label, figures, args, small=None):
    rows = [
        Measurement(f"backup, {label} ({figures['db_size_mb']:.0f} MB)", figures["backup_s"],
                    baseline=figures["pg_dump_s"], max_ratio=args.target,
                    note="baseline: raw pg_dump --format=custom of the same database"),
        Measurement(f"  restore test, {label}", figures["restore_s"], max_value=None,
                    note="decrypt, verify, pg_restore, compare with the manifest"),
        Measurement(f"  archive size, {label}", figures["archive_mb"], unit="MB"),
    ]
    memory = Measurement(f"peak memory, {label}", figures["backup_peak_rss_mb"], unit="MB")
    if small is not None:
        memory.baseline = small["backup_peak_rss_mb"]
        memory.max_ratio = TARGET_MEMORY_RATIO
        memory.note = "baseline: peak memory of the small database's backup"
    rows.append(memory)
    return rows


def run(args, session):
    names = session.create_databases({"backup": [*BASE_MODULES, REGISTRY_MODULE, BACKUP_MODULE]})
    dbname = names["backup"]
    log(f"measuring the small database ({args.repeat} rounds)")
    small = _measure(session, dbname, args.repeat)
    if not small.get("restore_ok"):
        raise RuntimeError("the restore test of the small database's backup failed")
    log(f"small: {small}")
    with session.environment(dbname) as env:
        factory_args = argparse.Namespace(customers=args.customers, seed=args.seed)
        registry_data.ensure_data(env, args.rows // 4, _master_factory(env, factory_args), seed=args.seed)
        env.cr.commit()
    log(f"measuring the large database ({args.repeat} rounds)")
    large = _measure(session, dbname, args.repeat)
    if not large.get("restore_ok"):
        raise RuntimeError("the restore test of the large database's backup failed")
    log(f"large: {large}")
    measurements = [*_rows("small", small, args), *_rows("large", large, args, small=small)]
    return BenchResult(
        measurements=measurements,
        title=f"Full encrypted backup vs pg_dump ({small['db_size_mb']:.0f} MB and {large['db_size_mb']:.0f} MB)",
        extra={"small": small, "large": large},
    )
