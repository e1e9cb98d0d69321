"""Measurements of the backup benchmark (``bench_backup``), or of any database.

``measure(dbname, ...)`` returns, for one database, in one run:

- ``pg_dump_s``: a raw ``pg_dump --format=custom`` to a file (the baseline);
- ``backup_s``: a full encrypted backup (dump + filestore + manifest) to a file;
- ``ratio``: backup_s / pg_dump_s (target: at most 1.3);
- ``backup_peak_rss_mb``: peak resident memory of the Python process writing
  the backup (measured in a fresh child process); compare it across database
  sizes (it must stay flat);
- ``restore_s``: decrypting, verifying and restoring that archive into a
  scratch database and comparing it with the manifest (the restore test);
- ``db_size_mb`` and ``archive_mb``.

Raw dumps and backups alternate ``repeat`` times; medians are reported.

Runs the backup in a child interpreter so that its memory is measured alone.
Uses the backup addon's plain Python modules (``sales_document_backup/lib``),
without Odoo: ``python benchmarks/backup_measure.py DBNAME``.
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

BACKUP_ADDON = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sales_document_backup")


def _say(text):
    sys.stdout.write(f"{text}\n")


def _modules():
    # The addon's lib/ is plain Python: imported as the package ``lib`` from
    # the addon's directory, as its own command line tool does.
    if BACKUP_ADDON not in sys.path:
        sys.path.insert(0, BACKUP_ADDON)
    from lib import crypto, dump, manifest

    return crypto, dump, manifest


def _db_size_mb(dump, dbname, params):
    conn = dump.connect(dbname, params)
    try:
        with conn.cursor() as pg:
            pg.execute("SELECT pg_database_size(current_database())")
            return pg.fetchone()[0] / 1e6
    finally:
        conn.close()


def _backup_child(args):
    """Entry point of the child process: one backup, JSON result on stdout."""
    crypto, dump, _manifest = _modules()
    started = time.perf_counter()
    result = dump.create_backup(
        args["out"], args["dbname"], crypto.load_public_key(args["public_key"]),
        params=args.get("params"), filestore=args.get("filestore"), timeout=args.get("timeout", 3600),
    )
    elapsed = time.perf_counter() - started
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _say(json.dumps({"backup_s": elapsed, "size": result["size"], "backup_peak_rss_mb": self_rss}))


def measure(dbname, params=None, filestore=None, public_key=None, private_key=None, work_dir=None,
            restore=True, repeat=3):
    """Benchmark one database; see the module docstring for the figures."""
    crypto, dump, manifest = _modules()
    work = tempfile.mkdtemp(prefix="sdb-bench-", dir=work_dir)
    try:
        if not public_key or not private_key:
            private_key = os.path.join(work, "bench.key")
            public_key = os.path.join(work, "bench.pub")
            crypto.generate_key_pair(private_key, public_key, key_size=3072)
        raw = os.path.join(work, "raw.dump")
        out = os.path.join(work, "backup.sdb")
        raw_times, runs = [], []
        # Alternate raw dumps and backups so that load changes on the machine
        # affect both sides alike; medians are reported.
        for _round in range(max(repeat, 1)):
            started = time.perf_counter()
            subprocess.run(["pg_dump", "--format=custom", "--file", raw, dbname], check=True,
                           env=dump.pg_environ(params))
            raw_times.append(time.perf_counter() - started)
            os.unlink(raw)
            if os.path.exists(out):
                os.unlink(out)
            child = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--child"],
                input=json.dumps({"out": out, "dbname": dbname, "params": params, "filestore": filestore,
                                  "public_key": public_key}),
                capture_output=True, text=True, check=True,
            )
            runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
        pg_dump_s = statistics.median(raw_times)
        figures = {
            "backup_s": statistics.median(r["backup_s"] for r in runs),
            "backup_peak_rss_mb": round(max(r["backup_peak_rss_mb"] for r in runs), 1),
            "database": dbname,
            "db_size_mb": round(_db_size_mb(dump, dbname, params), 1),
            "archive_mb": round(runs[-1]["size"] / 1e6, 1),
            "pg_dump_s": round(pg_dump_s, 3),
            "rounds": len(runs),
        }
        figures["ratio"] = round(figures["backup_s"] / pg_dump_s, 3) if pg_dump_s else None
        if restore:
            scratch = f"sdb_bench_{uuid.uuid4().hex[:8]}"
            started = time.perf_counter()
            extract_dir = os.path.join(work, "extract")
            os.makedirs(extract_dir)
            result = dump.extract_backup(out, crypto.load_private_key(private_key), extract_dir)
            dump.restore_database(result["dump_path"], scratch, params, jobs=2)
            try:
                conn = dump.connect(scratch, params)
                with conn.cursor() as pg:
                    problems = manifest.compare_stats(result["manifest"]["documents"], manifest.document_stats(pg))
                conn.close()
            finally:
                dump.drop_database(scratch, params)
            figures["restore_s"] = round(time.perf_counter() - started, 3)
            figures["restore_ok"] = not problems
        figures["backup_s"] = round(figures["backup_s"], 3)
        return figures
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


def main(argv):
    """``backup_measure.py DBNAME [--filestore PATH] [--repeat N] [--no-restore]``: figures as JSON."""
    import argparse

    parser = argparse.ArgumentParser(description="Full encrypted backup versus a raw pg_dump of one database.")
    parser.add_argument("dbname")
    parser.add_argument("--filestore", help="the database's filestore directory (backed up with it)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of raw dump + backup (median)")
    parser.add_argument("--no-restore", action="store_true", help="skip the restore test")
    args = parser.parse_args(argv)
    figures = measure(args.dbname, filestore=args.filestore, repeat=args.repeat, restore=not args.no_restore)
    _say(json.dumps(figures, indent=1))


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        _backup_child(json.loads(sys.stdin.read()))
    else:
        main(sys.argv[1:])
