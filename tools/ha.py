#!/usr/bin/env python3
"""A scale-out topology on loopback: a PostgreSQL primary, a streaming standby
and Odoo servers on the primary with their read-only requests on the standby.

Used by ``make test-ha`` (tools/devtool.py) and by the scale benchmark
(benchmarks/bench_scale.py). Standard library only. Everything it creates
(clusters, servers, temporary directory) is listed on a ``Topology`` object
and removed by ``Topology.teardown()``, whatever happened before.

The clusters are throw-away Debian clusters (``pg_createcluster``) of their
own, on their own ports: the topology never changes the machine's main
cluster. The registry benchmark's ``--replica`` makes a standby of the
cluster its database lives in with the same helpers; when that cluster does
not accept loopback replication, ``allow_replication`` adds the line for the
run and ``forbid_replication`` takes it out again.
"""

import http.cookiejar
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.request import HTTPCookieProcessor, Request, build_opener, urlopen

REPO = Path(__file__).resolve().parent.parent
HA_ADDONS = (
    "sales_document_registry",
    "sales_document_audit",
    "sales_document_backup",
    "sales_document_audit_backup",
)
ROLE = "odoo_ha"
REPLICATION_LINE = "host replication all 127.0.0.1/32 trust"
# A hot standby refuses to replay WAL of a primary with higher values of these.
STANDBY_MINIMA = ("max_connections", "max_worker_processes", "max_wal_senders",
                  "max_prepared_transactions", "max_locks_per_transaction")


class TopologyError(Exception):
    """A step of the topology failed; the message says which."""


def log(msg):
    print(f"==> {msg}", flush=True)


# ---------------------------------------------------------------------------
# PostgreSQL clusters
# ---------------------------------------------------------------------------


def pg_version():
    """The newest PostgreSQL server installed (``/usr/lib/postgresql/<version>``)."""
    root = Path("/usr/lib/postgresql")
    versions = sorted((p.name for p in root.iterdir() if (p / "bin" / "postgres").exists()),
                      key=lambda v: float(v)) if root.is_dir() else []
    if not versions or not shutil.which("pg_createcluster"):
        raise TopologyError(
            "a PostgreSQL server with Debian's cluster tools (pg_createcluster) is needed "
            "for the standby: apt-get install -y postgresql"
        )
    return versions[-1]


def as_postgres(cmd):
    """``cmd`` run as the ``postgres`` system user (clusters' files belong to it)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return ["sudo", "-n", "-u", "postgres", *cmd]


def as_root(cmd):
    return cmd if os.geteuid() == 0 else ["sudo", "-n", *cmd]


def run(cmd, input_text=None):
    res = subprocess.run(cmd, capture_output=True, text=True, input=input_text or "")
    if res.returncode:
        detail = (res.stderr or res.stdout).strip()[-1500:]
        raise TopologyError(f"{' '.join(map(str, cmd))} failed: {detail}")
    return res.stdout


class Cluster:
    """One throw-away PostgreSQL cluster on loopback."""

    def __init__(self, version, name, port):
        self.version, self.name, self.port = version, name, int(port)
        self.data_dir = Path(f"/var/lib/postgresql/{version}/{name}")
        self.conf_dir = Path(f"/etc/postgresql/{version}/{name}")

    def psql(self, sql, db="postgres"):
        """Run ``sql`` as the cluster's superuser; returns the rows as text."""
        return run(as_postgres(["psql", "-X", "-q", "-At", "-h", "127.0.0.1", "-p", str(self.port),
                                "-d", db, "-c", sql]))

    def ctl(self, action):
        run(as_root(["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, action]))

    def exists(self):
        return self.conf_dir.is_dir()

    def drop(self):
        if self.exists():
            # pg_dropcluster keeps a configuration directory holding files it did not write.
            subprocess.run(as_root(["rm", "-f", str(self.conf_dir / "conf.d" / "ha.conf")]),
                           capture_output=True, stdin=subprocess.DEVNULL)
            subprocess.run(as_root(["pg_dropcluster", "--stop", self.version, self.name]),
                           capture_output=True, stdin=subprocess.DEVNULL)
        if self.exists():
            raise TopologyError(f"cluster {self.version}/{self.name} could not be dropped")


def cluster_on_port(port):
    """The Debian cluster of this machine listening on ``port`` (``pg_lsclusters``)."""
    out = run(["pg_lsclusters", "--no-header"])
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == str(port):
            return Cluster(fields[0], fields[1], fields[2])
    raise TopologyError(f"no PostgreSQL cluster of this machine listens on port {port} (pg_lsclusters)")


def allow_replication(cluster):
    """Let loopback replication connections into ``cluster`` (``pg_basebackup``, streaming).

    Returns True when the line had to be added, so that the caller can take
    it out again with :func:`forbid_replication`; a cluster that already
    accepts them is left as it is.
    """
    hba = cluster.conf_dir / "pg_hba.conf"
    if REPLICATION_LINE in run(as_root(["cat", str(hba)])).splitlines():
        return False
    run(as_root(["sh", "-c", f"cat >> {hba}"]), input_text=REPLICATION_LINE + "\n")
    cluster.psql("SELECT pg_reload_conf()")
    log(f"added to {hba} and reloaded: {REPLICATION_LINE}")
    return True


def forbid_replication(cluster):
    """Take the line :func:`allow_replication` added out of ``cluster``'s pg_hba.conf again."""
    hba = cluster.conf_dir / "pg_hba.conf"
    lines = run(as_root(["cat", str(hba)])).splitlines()
    kept = [line for line in lines if line != REPLICATION_LINE]
    if kept == lines:
        return
    run(as_root(["sh", "-c", f"cat > {hba}"]), input_text="".join(f"{line}\n" for line in kept))
    cluster.psql("SELECT pg_reload_conf()")
    log(f"removed from {hba} and reloaded: {REPLICATION_LINE}")


def _create_cluster(version, name, port, created, at_least=None):
    """A new stopped cluster; appended to ``created`` at once so that teardown drops it.

    ``at_least`` raises some of its integer settings to the values given.
    """
    cluster = Cluster(version, name, port)
    run(as_root(["pg_createcluster", version, name, "-p", str(port), "--",
                 "--auth-local=trust", "--auth-host=trust"]))
    created.append(cluster)
    settings = {
        "listen_addresses": "'127.0.0.1'",
        "wal_level": "replica",
        "max_wal_senders": "5",
        "hot_standby": "on",
        "max_connections": "200",
        # Throw-away clusters: durability traded for speed, replication unchanged.
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "shared_buffers": "'128MB'",
    }
    for key, value in (at_least or {}).items():
        settings[key] = str(max(int(settings.get(key, 0)), value))
    conf = cluster.conf_dir / "conf.d" / "ha.conf"
    text = "".join(f"{key} = {value}\n" for key, value in settings.items())
    run(as_root(["sh", "-c", f"cat > {conf}"]), input_text=text)
    return cluster


def create_primary(version, name, port, created):
    """A new primary cluster accepting replication connections from loopback."""
    log(f"creating the primary cluster {version}/{name} on 127.0.0.1:{port}")
    cluster = _create_cluster(version, name, port, created)
    hba = cluster.conf_dir / "pg_hba.conf"
    run(as_root(["sh", "-c", f"cat >> {hba}"]), input_text=REPLICATION_LINE + "\n")
    log(f"added to {hba}: {REPLICATION_LINE}")
    cluster.ctl("start")
    wait_postgres(cluster)
    cluster.psql(f"CREATE ROLE {ROLE} LOGIN CREATEDB")
    return cluster


def create_standby(primary, name, port, created):
    """A hot standby of ``primary``, made with ``pg_basebackup -R`` and streaming from it."""
    log(f"creating the standby cluster {primary.version}/{name} on 127.0.0.1:{port} "
        f"(pg_basebackup -R from port {primary.port})")
    minima = {key: int(primary.psql(f"SHOW {key}").strip()) for key in STANDBY_MINIMA}
    cluster = _create_cluster(primary.version, name, port, created, at_least=minima)
    run(as_root(["find", str(cluster.data_dir), "-mindepth", "1", "-delete"]))
    run(as_postgres(["pg_basebackup", "-D", str(cluster.data_dir), "-R", "-X", "stream", "-c", "fast",
                     "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"]))
    cluster.ctl("start")
    wait_postgres(cluster)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if primary.psql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'").strip() != "0":
            return cluster
        time.sleep(0.5)
    raise TopologyError(f"the standby {name} does not stream from the primary")


def make_synchronous(primary):
    """Commits on the primary return once the standby has applied them.

    Odoo sends a request's reads to the replica: right after a button the
    web client reads the record again, and with asynchronous replication it
    could be shown as it was before the click. ``remote_apply`` gives every
    client its own writes back, at the price of a replication round trip
    per commit (see README.md, "Scale-out").
    """
    primary.psql("ALTER SYSTEM SET synchronous_standby_names = '*'")
    primary.psql("ALTER SYSTEM SET synchronous_commit = 'remote_apply'")
    primary.psql("SELECT pg_reload_conf()")


def wait_postgres(cluster, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        try:
            cluster.psql("SELECT 1")
            return
        except TopologyError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def wait_replayed(primary, standby, timeout=60):
    """Wait until the standby has replayed everything the primary wrote so far."""
    target = primary.psql("SELECT pg_current_wal_lsn()").strip()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = standby.psql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn").strip()
        if done == "t":
            return
        time.sleep(0.2)
    raise TopologyError("the standby did not catch up with the primary")


# ---------------------------------------------------------------------------
# Odoo servers
# ---------------------------------------------------------------------------


def free_port(candidates):
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise TopologyError(f"no free port among {list(candidates)}")


def write_config(path, *, odoo_path, data_dir, db_name, primary, standby=None, http_port, gevent_port,
                 workers, cron_threads=1, extra=None):
    """An Odoo configuration file for one server of the topology."""
    opts = {
        "addons_path": ",".join([str(odoo_path / "odoo" / "addons"), str(odoo_path / "addons"), str(REPO)]),
        "data_dir": str(data_dir),
        "db_host": "127.0.0.1",
        "db_port": primary.port,
        "db_user": ROLE,
        "db_password": "False",
        "db_name": db_name,
        "dbfilter": f"^{db_name}$",
        "list_db": "False",
        "http_interface": "127.0.0.1",
        "http_port": http_port,
        "gevent_port": gevent_port,
        "workers": workers,
        "max_cron_threads": cron_threads,
        "limit_time_real": 600,
        "limit_time_cpu": 300,
        "limit_time_real_cron": 600,
        "without_demo": "all",
        "log_level": "warn",
    }
    if standby is not None:
        opts.update({"db_replica_host": "127.0.0.1", "db_replica_port": standby.port})
    opts.update(extra or {})
    path.write_text("[options]\n" + "".join(f"{k} = {v}\n" for k, v in opts.items()))
    return path


def install_database(python, odoo_path, conf, db_name, addons=HA_ADDONS):
    log(f"creating database {db_name} with {', '.join(addons)} (no demo data)")
    res = subprocess.run(
        [python, str(odoo_path / "odoo-bin"), "-c", str(conf), "-d", db_name, "-i", ",".join(addons),
         "--stop-after-init", "--without-demo=all", "--log-level=warn", "--workers=0", "--max-cron-threads=0"],
        stdin=subprocess.DEVNULL,
    )
    if res.returncode:
        raise TopologyError(f"installing the addons into {db_name} failed (see the log above)")


class Server:
    """One Odoo server process (prefork) of the topology."""

    def __init__(self, name, conf, http_port, log_path):
        self.name, self.conf, self.http_port, self.log_path = name, conf, http_port, log_path
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, python, odoo_path):
        log(f"starting Odoo server {self.name} on {self.url}")
        self.process = subprocess.Popen(
            [python, str(odoo_path / "odoo-bin"), "-c", str(self.conf), "--logfile", str(self.log_path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise TopologyError(f"Odoo server {self.name} stopped: {self.log_tail()}")
            try:
                with urlopen(f"{self.url}/web/health", timeout=5):
                    return
            except OSError:
                time.sleep(1)
        raise TopologyError(f"Odoo server {self.name} did not answer within {timeout} s")

    def log_tail(self, size=3000):
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def pids(self):
        """The server's process and its workers (for CPU accounting)."""
        if self.process is None:
            return []
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)],
                             capture_output=True, text=True).stdout
        return [self.process.pid, *(int(p) for p in out.split())]


class RpcError(Exception):
    """An error an Odoo server returned to a client."""


class JsonRpcClient:
    """A web client's session: login cookie, then ``/web/dataset/call_kw``.

    Odoo 18 serves the methods marked read-only (``search_read``,
    ``web_read``, ``read_group``...) on the replica when one is configured.
    """

    def __init__(self, url, db, login, password, timeout=600):
        self.url, self.timeout = url, timeout
        self.opener = build_opener(HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.uid = self._post("/web/session/authenticate", {"db": db, "login": login, "password": password})["uid"]

    def _post(self, path, params):
        body = json.dumps({"jsonrpc": "2.0", "method": "call", "params": params}).encode()
        request = Request(f"{self.url}{path}", data=body, headers={"Content-Type": "application/json"})
        with self.opener.open(request, timeout=self.timeout) as response:
            answer = json.loads(response.read())
        if answer.get("error"):
            error = answer["error"]
            raise RpcError((error.get("data") or {}).get("message") or error.get("message"))
        return answer.get("result")  # Odoo leaves "result" out when it is None

    def call(self, model, method, *args, **kwargs):
        return self._post(f"/web/dataset/call_kw/{model}/{method}",
                          {"model": model, "method": method, "args": list(args), "kwargs": kwargs})


def process_cpu_seconds(pids):
    """User + system CPU seconds used so far by ``pids`` (those still alive)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def cluster_pids(cluster):
    """Processes of a PostgreSQL cluster (postmaster, backends, WAL sender/receiver)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f"/{cluster.name}" in cmdline or f"{cluster.version}/{cluster.name}:" in cmdline:
            found.append(int(entry.name))
    return found


# ---------------------------------------------------------------------------
# The whole topology
# ---------------------------------------------------------------------------


class Topology:
    """Primary + standby + Odoo servers; ``build()`` then ``teardown()`` (always)."""

    def __init__(self, *, python, odoo_path, pg_ports=range(5441, 5450), http_ports=range(8271, 8280),
                 db_name=None, servers=2, replica=True, addons=HA_ADDONS, server_options=None):
        self.python, self.odoo_path = str(python), Path(odoo_path)
        self.pg_ports, self.http_ports = list(pg_ports), list(http_ports)
        self.token = uuid.uuid4().hex[:6]
        self.db_name = db_name or f"ha_{self.token}"
        self.server_count, self.replica, self.addons = servers, replica, addons
        self.server_options = dict(server_options or {})
        self.tmp = Path(tempfile.mkdtemp(prefix="sales-documents-ha-"))
        self.primary = self.standby = None
        self.clusters, self.servers = [], []

    # Building -------------------------------------------------------------

    def build(self):
        version = pg_version()
        self.server_options = {**self._backup_options(), **self.server_options}
        primary_port = free_port(self.pg_ports)
        self.primary = create_primary(version, f"ha_primary_{self.token}", primary_port, self.clusters)
        install_conf = self._config("install", None, self._next_http_port(), self._next_http_port(), 0)
        install_database(self.python, self.odoo_path, install_conf, self.db_name, self.addons)
        if self.replica:
            standby_port = free_port(p for p in self.pg_ports if p != primary_port)
            self.standby = create_standby(self.primary, f"ha_standby_{self.token}", standby_port, self.clusters)
            make_synchronous(self.primary)
        for index in range(self.server_count):
            self.add_server(f"odoo{index + 1}")
        return self

    def _backup_options(self):
        """Backup keys (a fresh RSA pair), work and destination directories of the servers."""
        keys = self.tmp / "keys"
        keys.mkdir()
        script = (
            "import sys\n"
            "from cryptography.hazmat.primitives import serialization\n"
            "from cryptography.hazmat.primitives.asymmetric import rsa\n"
            "key = rsa.generate_private_key(public_exponent=65537, key_size=2048)\n"
            "open(sys.argv[1], 'wb').write(key.private_bytes(serialization.Encoding.PEM,"
            " serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))\n"
            "open(sys.argv[2], 'wb').write(key.public_key().public_bytes(serialization.Encoding.PEM,"
            " serialization.PublicFormat.SubjectPublicKeyInfo))\n"
        )
        run([self.python, "-c", script, str(keys / "private.pem"), str(keys / "public.pem")])
        for name in ("work", "backups"):
            (self.tmp / name).mkdir()
        return {
            "sales_backup_public_key": keys / "public.pem",
            "sales_backup_private_key": keys / "private.pem",
            "sales_backup_work_dir": self.tmp / "work",
            "sales_backup_allowed_roots": self.tmp / "backups",
        }

    def _next_http_port(self):
        used = {s.http_port for s in self.servers} | getattr(self, "_taken", set())
        port = free_port(p for p in self.http_ports if p not in used)
        self._taken = used | {port}
        return port

    def _config(self, name, standby, http_port, gevent_port, workers):
        extra = dict(self.server_options)
        if standby is not None:
            # Full backups dumped from the standby, keeping their load off the primary.
            extra.update(sales_backup_dump_host="127.0.0.1", sales_backup_dump_port=standby.port)
        return write_config(
            self.tmp / f"{name}.conf", odoo_path=self.odoo_path, data_dir=self.tmp / "data",
            db_name=self.db_name, primary=self.primary, standby=standby, http_port=http_port,
            gevent_port=gevent_port, workers=workers, extra=extra,
        )

    def add_server(self, name, workers=2, replica=None):
        """Start one more Odoo server (prefork: ``workers`` HTTP workers and a cron worker)."""
        use_replica = self.replica if replica is None else replica
        http_port, gevent_port = self._next_http_port(), self._next_http_port()
        standby = self.standby if use_replica else None
        conf = self._config(name, standby, http_port, gevent_port, workers)
        server = Server(name, conf, http_port, self.tmp / f"{name}.log")
        self.servers.append(server)
        server.start(self.python, self.odoo_path)
        server.wait_ready()
        return server

    def describe(self):
        """What the tests and the benchmark need, as plain data."""
        return {
            "db_name": self.db_name,
            "primary": {"host": "127.0.0.1", "port": self.primary.port, "user": ROLE},
            "standby": self.standby and {"host": "127.0.0.1", "port": self.standby.port, "user": ROLE},
            "servers": [{"name": s.name, "url": s.url, "conf": str(s.conf), "log": str(s.log_path)}
                        for s in self.servers],
            "data_dir": str(self.tmp / "data"),
            "backup_dir": str(self.tmp / "backups"),
            "tmp": str(self.tmp),
        }

    def write_description(self):
        path = self.tmp / "topology.json"
        path.write_text(json.dumps(self.describe(), indent=1))
        return path

    # Teardown -------------------------------------------------------------

    def teardown(self):
        """Stop the servers, drop both clusters, remove the temporary directory."""
        for server in self.servers:
            try:
                server.stop()
            except OSError:
                pass
        for cluster in reversed(self.clusters):
            log(f"dropping cluster {cluster.version}/{cluster.name}")
            try:
                cluster.drop()
            except TopologyError as exc:
                print(f"error: {exc}", file=sys.stderr)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.teardown()


def interrupt_on_sigterm():
    """A termination request unwinds like Ctrl-C, so that the teardown runs."""

    def interrupt(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def run_tests(python, odoo_path, pytest_args, server_options=None):
    """Build the topology, run pytest on the HA tests against it, tear it down.

    Returns pytest's exit code.
    """
    interrupt_on_sigterm()
    with Topology(python=python, odoo_path=odoo_path, server_options=server_options) as topology:
        try:
            topology.build()
        except TopologyError as exc:
            for server in topology.servers:
                print(server.log_tail(), file=sys.stderr)
            raise exc
        description = topology.write_description()
        conf = topology.servers[0].conf
        cmd = [python, "-m", "pytest", "-p", "no:cacheprovider", f"--odoo-config={conf}",
               f"--odoo-database={topology.db_name}", "--odoo-log-level=warn",
               *(pytest_args or ["tests/ha"])]
        log("running the tests: " + " ".join(cmd[2:]))
        code = subprocess.run(cmd, cwd=REPO, env={**os.environ, "SALES_DOCUMENTS_HA": str(description)}).returncode
        if code:
            for server in topology.servers:
                errors = [line for line in server.log_tail(200000).splitlines()
                          if " ERROR " in line or " CRITICAL " in line]
                if errors:
                    print(f"--- errors logged by {server.name}:\n" + "\n".join(errors[-40:]), file=sys.stderr)
        return code


def main(argv=None):
    """``python tools/ha.py serve``: build the topology and keep it until interrupted."""
    import argparse  # noqa: PLC0415

    parser = argparse.ArgumentParser(description="Odoo servers on a PostgreSQL primary and a streaming standby.")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--odoo-path", default=os.environ.get("ODOO_PATH", "/opt/odoo18"))
    args = parser.parse_args(argv)
    interrupt_on_sigterm()
    with Topology(python=args.python, odoo_path=args.odoo_path) as topology:
        try:
            topology.build()
            log(f"topology ready, described in {topology.write_description()}; Ctrl-C tears it down")
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        except TopologyError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
