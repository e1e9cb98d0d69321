"""Full backups in their own process, outside request and cron time limits.

The worker that starts a backup only creates the ``sales.document.backup``
record; once that is committed, ``spawn`` starts this file as a script in a
new session (its own process group), with the Python that runs Odoo::

    python sales_document_backup/runner.py --database DB --backup ID

The server options the process needs (database connection, addons path,
``sales_backup_*`` keys and credentials, whether they come from the
configuration file, the command line or the environment) reach it as JSON on
its standard input: never on its command line nor in its environment. It
loads the database's registry and runs ``backup_job.execute_full_backup`` through a
``DetachedSession``: every write to the backup record is a short transaction
of its own, and a heartbeat thread records a sign of life and the progress
every few seconds. SIGTERM ends it as a failure that cleans up after itself;
a process killed outright (SIGKILL, OOM killer, lost host) is found by the
watchdog cron (``_cron_check_running``) from its process id or its stale
heartbeat.

Only the standard library is imported at module level: the model imports
``spawn`` and ``process_alive`` from here.
"""

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager

_logger = logging.getLogger(__name__)

RUNNER_PATH = os.path.abspath(__file__)
ADDON_DIR = os.path.dirname(RUNNER_PATH)


# ---------------------------------------------------------------------------
# Parent side: start the process, tell whether it still runs
# ---------------------------------------------------------------------------


def spawn(python, database, backup_id, cwd=None, env=None):
    """Start the runner for ``backup_id``; it waits for its job on standard input.

    Returns the ``subprocess.Popen``; a daemon thread reaps it when it ends,
    so that a finished runner never lingers as a zombie that looks alive.
    ``job`` is written to the process's standard input by ``send_job``.
    """
    odoo_root = _odoo_root()
    environ = dict(os.environ if env is None else env)
    if odoo_root:
        environ["PYTHONPATH"] = os.pathsep.join(filter(None, [odoo_root, environ.get("PYTHONPATH")]))
    process = subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
        [python, RUNNER_PATH, "--database", database, "--backup", str(int(backup_id))],
        stdin=subprocess.PIPE,
        cwd=cwd,
        env=environ,
        close_fds=True,
        start_new_session=True,
    )
    threading.Thread(target=process.wait, name=f"sdb-reaper-{process.pid}", daemon=True).start()
    return process


def send_job(process, job):
    """Write the job to the runner and close its input (it starts then)."""
    try:
        process.stdin.write(json.dumps(job).encode())
    finally:
        process.stdin.close()


def _odoo_root():
    """Directory holding the ``odoo`` package, for the child's PYTHONPATH."""
    module = sys.modules.get("odoo")
    paths = list(getattr(module, "__path__", []) or [])
    return os.path.dirname(os.path.abspath(paths[0])) if paths else None


def process_alive(pid, backup_id=None):
    """Whether process ``pid`` on this host is still a running backup runner.

    A zombie counts as ended. Where ``/proc`` exists, a process whose command
    line is not this runner (for ``backup_id``) counts as ended too: the
    original process is gone and its id was reused.
    """
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else: the command line decides
    proc = f"/proc/{pid}"
    if not os.path.isdir("/proc/self"):
        return True
    try:
        with open(f"{proc}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[-1].split()[0]
        with open(f"{proc}/cmdline", "rb") as handle:
            cmdline = handle.read().split(b"\0")
    except OSError:
        return False
    if state in (b"Z", b"X"):
        return False
    if RUNNER_PATH.encode() not in cmdline and b"runner.py" not in b" ".join(cmdline):
        return False
    return backup_id is None or str(int(backup_id)).encode() in cmdline


# ---------------------------------------------------------------------------
# Child side: the session writing the backup record, and the entry point
# ---------------------------------------------------------------------------


class DetachedSession:
    """Writes to one backup record from the runner process.

    ``record()`` yields the record in a fresh cursor committed on exit, under
    a lock shared with the heartbeat thread: the two never write the row in
    overlapping transactions, so neither hits a serialization failure.
    """

    def __init__(self, registry, backup_id, uid, context, interval):
        self.registry = registry
        self.backup_id = backup_id
        self.uid = uid
        self.context = context
        self.interval = interval
        self.progress = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = None

    @contextmanager
    def record(self):
        from odoo import api

        with self._lock, self.registry.cursor() as cr:
            env = api.Environment(cr, self.uid, self.context)
            yield env["sales.document.backup"].browse(self.backup_id)

    def make_progress(self, estimated_size, destinations):
        from odoo.addons.sales_document_backup.lib.progress import BackupProgress

        # Step changes wake the heartbeat thread; it alone writes progress.
        self.progress = BackupProgress(
            estimated_size, destinations, report=lambda _snapshot: self._wake.set(), interval=self.interval
        )
        return self.progress

    def start_heartbeat(self):
        self._beat()
        self._thread = threading.Thread(target=self._heartbeat_loop, name="sdb-heartbeat", daemon=True)
        self._thread.start()

    def stop_heartbeat(self):
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _heartbeat_loop(self):
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            self._beat()

    def _beat(self):
        try:
            with self.record() as backup:
                backup._record_heartbeat(self.progress.snapshot() if self.progress else None)
        except Exception:  # noqa: BLE001 - a missed beat is retried; the backup goes on
            _logger.warning("Backup %s: could not record a sign of life", self.backup_id, exc_info=True)


def _raise_exit(signum, _frame):
    raise SystemExit(128 + signum)


def _load_configuration(job):
    import odoo
    from odoo.tools import config

    options = dict(job.get("options") or {})
    args = []
    rcfile = job.get("rcfile")
    if rcfile and os.path.isfile(rcfile):
        args += ["-c", rcfile]
    if options.get("addons_path"):
        args.append(f"--addons-path={options['addons_path']}")
    config.parse_config(args, setup_logging=False)
    config.options.update(options)
    odoo.netsvc.init_logger()


def main(argv=None):
    """Run one detached full backup; exit code 0 when it is done, 1 otherwise."""
    # Run as a script, the addon's own directory heads sys.path: its modules
    # must only be imported as part of the addon.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != ADDON_DIR]
    parser = argparse.ArgumentParser(description="Run one full backup of an Odoo database.")
    parser.add_argument("--database", required=True)
    parser.add_argument("--backup", type=int, required=True)
    args = parser.parse_args(argv)
    job = json.loads(sys.stdin.read() or "{}")
    signal.signal(signal.SIGTERM, _raise_exit)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the worker that started it may go away
    _load_configuration(job)

    from odoo.modules.registry import Registry

    from odoo.addons.sales_document_backup.backup_job import execute_full_backup

    threading.current_thread().dbname = args.database
    registry = Registry(args.database)
    session = DetachedSession(
        registry, args.backup, job.get("uid") or 1, job.get("context") or {}, float(job.get("heartbeat", 10))
    )
    with session.record() as backup:
        if backup.state != "running":
            _logger.warning("Backup %s is %s: nothing to run.", args.backup, backup.state)
            return 1
    session.start_heartbeat()
    try:
        execute_full_backup(session)
    except BaseException as exc:
        if isinstance(exc, SystemExit) and isinstance(exc.code, int) and exc.code > 128:
            reason = f"stopped by signal {exc.code - 128}"
        else:
            reason = repr(exc)
        _logger.exception("Backup %s failed in its process: %s", args.backup, reason)
        session.stop_heartbeat()
        with session.record() as backup:
            backup._fail_interrupted(reason)
        return 1
    finally:
        session.stop_heartbeat()
    with session.record() as backup:
        return 0 if backup.state == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
