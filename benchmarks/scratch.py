"""Scratch databases and in-process Odoo environments for benchmarks.

A :class:`BenchSession` writes one Odoo configuration file the same way
``tools/devtool.py`` does (addons path = Odoo's two addons directories plus
the repository, data directory under ``.build/``), creates databases with a
given list of modules installed and no demo data (``odoo-bin -i``, several
in parallel), opens Odoo environments on them in this process, and drops the
databases it created when the run ends unless asked to keep them.
"""

import configparser
import importlib.util
import shutil
import subprocess
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / ".build"
LOG_DIR = BUILD / "bench-logs"

# Odoo's own modules the project's addons build on: the baseline of every
# benchmark that measures the addons' overhead.
BASE_MODULES = ("sale_management", "sale_stock", "stock_delivery", "account")
REGISTRY_MODULE = "sales_document_registry"


class BenchError(Exception):
    """A benchmark cannot run; the message says why."""


def load_devtool():
    """The developer tool as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location(
        "sales_documents_devtool", REPO / "tools" / "devtool.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def log(msg):
    print(f"--> {msg}", flush=True)


class BenchSession:
    """Databases and Odoo environments of one benchmark run.

    ``keep`` keeps the databases it created; ``reuse`` gives them fixed names
    (``bench_<benchmark>_<label>``), reuses those that already exist and keeps
    them all, which makes repeated runs while developing much faster.
    """

    def __init__(self, benchmark, keep=False, reuse=False):
        self.devtool = load_devtool()
        self.cfg = self.devtool.settings()
        self.benchmark = benchmark
        self.keep = keep or reuse
        self.reuse = reuse
        self.token = uuid.uuid4().hex[:6]
        self.created = []
        self.opened = []
        self.conf = None
        self.extra_addons = []
        self._odoo_ready = False

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self):
        BUILD.mkdir(exist_ok=True)
        self._write_config()
        return self

    def _write_config(self):
        name, db_name = f"bench-{self.token}", f"bench_{self.benchmark}"
        extra = {"without_demo": "all", "log_level": "warn", "max_cron_threads": "0"}
        self.conf = self.devtool.write_config(self.cfg, name, db_name, extra)
        if self.extra_addons:
            # The usual addons path is the developer tool's; extra directories go after it.
            written = configparser.ConfigParser(interpolation=None)
            written.read(self.conf)
            usual = written["options"]["addons_path"]
            extra["addons_path"] = ",".join([usual, *map(str, self.extra_addons)])
            self.conf = self.devtool.write_config(self.cfg, name, db_name, extra)

    def add_addons_dir(self, path):
        """Put the directory ``path`` on the addons path, after the usual ones.

        For third-party addons a benchmark compares with (unpacked at run
        time, never part of the repository). Call it before creating
        databases or opening environments.
        """
        if self._odoo_ready:
            raise BenchError("an addons directory must be added before Odoo is loaded")
        self.extra_addons.append(Path(path).resolve())
        self._write_config()

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        opened = list(self.opened)
        if self._odoo_ready:
            self._release_registries()
        if self.keep:
            kept = self.created + [n for n in opened if n not in self.created]
            if kept:
                log("kept databases: " + ", ".join(kept))
        else:
            for name in self.created:
                log(f"dropping {name}")
                self.drop_database(name)
            self.created = []
        if self.conf and self.conf.exists():
            self.conf.unlink()

    # -- PostgreSQL --------------------------------------------------------

    def _connect(self, dbname="postgres"):
        import psycopg2

        kw = {"dbname": dbname, "port": self.cfg["pgport"]}
        if self.cfg["pghost"]:
            kw["host"] = self.cfg["pghost"]
        if self.cfg["pguser"]:
            kw["user"] = self.cfg["pguser"]
        if self.cfg["pgpassword"]:
            kw["password"] = self.cfg["pgpassword"]
        conn = psycopg2.connect(**kw)
        conn.autocommit = True
        return conn

    def vacuum(self, name):
        """VACUUM (ANALYZE) the whole database ``name``; returns the seconds it took.

        Generated data is written by bulk statements: PostgreSQL's autovacuum
        would visit the tables soon after and set their visibility maps, which
        index-only scans need (on both sides of every comparison). This
        machine's cluster runs with autovacuum off, so a generator does it once.
        """
        started = time.perf_counter()
        conn = self._connect(name)
        try:
            with conn.cursor() as cr:
                cr.execute("VACUUM (ANALYZE)")
        finally:
            conn.close()
        return round(time.perf_counter() - started, 1)

    def database_exists(self, name):
        conn = self._connect()
        try:
            with conn.cursor() as cr:
                cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
                return bool(cr.fetchone())
        finally:
            conn.close()

    def installed_modules(self, name, modules):
        conn = self._connect(name)
        try:
            with conn.cursor() as cr:
                cr.execute(
                    "SELECT name FROM ir_module_module WHERE state = 'installed' AND name IN %s",
                    [tuple(modules)],
                )
                return {row[0] for row in cr.fetchall()}
        finally:
            conn.close()

    def drop_database(self, name):
        if self._odoo_ready:
            from odoo import sql_db
            from odoo.modules.registry import Registry

            Registry.delete(name)
            sql_db.close_db(name)
        conn = self._connect()
        try:
            with conn.cursor() as cr:
                # The name is ours (generated), quoted as an identifier by psycopg2.
                from psycopg2 import sql

                cr.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)))
        finally:
            conn.close()
        shutil.rmtree(BUILD / "data" / "filestore" / name, ignore_errors=True)

    # -- databases ---------------------------------------------------------

    def database_name(self, label):
        if self.reuse:
            return f"bench_{self.benchmark}_{label}"
        return f"bench_{self.benchmark}_{label}_{self.token}"

    def create_databases(self, specs, parallel=2):
        """Create one database per ``label -> modules`` item; return ``label -> name``.

        Databases are created by ``odoo-bin -i`` without demo data, at most
        ``parallel`` at a time. With ``reuse``, an existing database that has
        the modules installed is used again, after ``odoo-bin -u`` of the
        project's own addons among them (their code may have changed). Any failure drops what this
        call created and raises :class:`BenchError` with the log's tail.
        """
        names = {label: self.database_name(label) for label in specs}
        todo = []
        for label, modules in specs.items():
            name = names[label]
            if self.reuse and self.database_exists(name):
                missing = set(modules) - self.installed_modules(name, modules)
                if not missing:
                    own = [m for m in modules if (REPO / m / "__manifest__.py").exists()]
                    if own:
                        # The project's addons may have changed since: update them.
                        todo.append((label, name, tuple(own), "-u"))
                    else:
                        log(f"reusing database {name}")
                    continue
                log(f"database {name} lacks {', '.join(sorted(missing))}: recreating it")
                self.drop_database(name)
            todo.append((label, name, tuple(modules), "-i"))
        running = []
        failures = []
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        while todo or running:
            while todo and len(running) < parallel:
                label, name, modules, mode = todo.pop(0)
                if mode == "-i":
                    log(f"creating database {name} with {', '.join(modules)} (no demo data)")
                else:
                    log(f"reusing database {name}, updating {', '.join(modules)}")
                logfile = LOG_DIR / f"{name}.log"
                handle = logfile.open("w")
                proc = subprocess.Popen(
                    [self.devtool.venv_python(self.cfg).as_posix(),
                     str(self.cfg["odoo_path"] / "odoo-bin"), "-c", str(self.conf),
                     "-d", name, mode, ",".join(modules), "--without-demo=all",
                     "--stop-after-init", "--log-level=warn", "--max-cron-threads=0"],
                    stdout=handle, stderr=subprocess.STDOUT, cwd=REPO,
                )
                if name not in self.created:
                    self.created.append(name)
                running.append((proc, handle, name, modules, logfile, time.monotonic()))
            time.sleep(0.5)
            for item in list(running):
                proc, handle, name, modules, logfile, started = item
                if proc.poll() is None:
                    continue
                running.remove(item)
                handle.close()
                ok = proc.returncode == 0
                if ok:
                    missing = set(modules) - self.installed_modules(name, modules)
                    ok = not missing
                if ok:
                    log(f"database {name} ready in {time.monotonic() - started:.0f} s")
                else:
                    failures.append((name, logfile))
        if failures:
            messages = []
            for name, logfile in failures:
                tail = "\n".join(logfile.read_text(errors="replace").splitlines()[-25:])
                messages.append(f"creating {name} failed; end of {logfile}:\n{tail}")
            for name, _logfile in failures:
                self.drop_database(name)
                self.created.remove(name)
            raise BenchError("\n\n".join(messages))
        return names

    # -- Odoo in this process ----------------------------------------------

    def _ensure_odoo(self):
        if self._odoo_ready:
            return
        import odoo

        odoo.tools.config.parse_config(["-c", str(self.conf)], setup_logging=True)
        self._odoo_ready = True

    def registry(self, dbname):
        """The Odoo registry of ``dbname``, loaded in this process."""
        self._ensure_odoo()
        from odoo.modules.registry import Registry

        if dbname not in self.opened:
            self.opened.append(dbname)
        return Registry(dbname)

    @contextmanager
    def environment(self, dbname, context=None, readonly=False):
        """An ``odoo.api.Environment`` as superuser on a fresh cursor.

        The cursor is committed when the block ends normally and rolled back
        when it raises. ``readonly`` asks the registry for a read-only cursor,
        which Odoo opens on the replica once :meth:`use_replica` named one
        (and on the primary otherwise).
        """
        registry = self.registry(dbname)
        from odoo import SUPERUSER_ID, api

        with registry.cursor(readonly=readonly) as cr:
            yield api.Environment(cr, SUPERUSER_ID, dict(context or {}))

    def use_replica(self, host, port):
        """Open the registries again with Odoo's read-only pool on ``host:port``.

        The same server options as production (``db_replica_host``,
        ``db_replica_port``); ``None`` goes back to the primary alone. A
        registry reads them when it is loaded, so the loaded ones are
        released first.
        """
        self._ensure_odoo()
        from odoo import sql_db
        from odoo.tools import config

        self._release_registries()
        # Closes the read-only pool's connections too (close_db() does not).
        sql_db.close_all()
        config["db_replica_host"] = host if host is not None else False
        config["db_replica_port"] = port if port is not None else False

    def _release_registries(self):
        from odoo import sql_db
        from odoo.modules.registry import Registry

        for name in self.opened:
            Registry.delete(name)
            sql_db.close_db(name)
        self.opened = []
