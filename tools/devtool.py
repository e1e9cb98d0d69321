#!/usr/bin/env python3
"""Developer entry point: set up, run, test, lint and benchmark the addons.

Runs with the standard library only, so it works before the virtual
environment exists. Every step checks its prerequisites first and fails with
one clear message naming the missing piece; databases it creates and fails to
finish are dropped again.

Usage: python3 tools/devtool.py {setup,run,test,test-ha,lint,bench,check} [args]
(the Makefile wraps these as ``make setup``, ``make run``, ``make test``, ...).
"""

import argparse
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ADDONS = (
    "sales_document_registry",
    "sales_document_registry_crm",
    "sales_document_audit",
    "sales_document_backup",
    "sales_document_audit_backup",
    "sales_document_service",
    "sales_document_service_repair",
    "sales_document_insight",
)
BUILD = REPO / ".build"
ODOO_BRANCH = "18.0"
ODOO_GIT_URL = "https://github.com/odoo/odoo.git"


class SetupError(Exception):
    """A prerequisite is missing; the message says which and how to fix it."""


# ---------------------------------------------------------------------------
# Settings (all from the environment, with defaults that work on a laptop)
# ---------------------------------------------------------------------------


def settings():
    env = os.environ
    return {
        "odoo_path": Path(env.get("ODOO_PATH", "/opt/odoo18")),
        "odoo_git_url": env.get("ODOO_GIT_URL", ODOO_GIT_URL),
        "venv": Path(env.get("VENV", REPO / ".venv")),
        "python": env.get("PYTHON", sys.executable or "python3"),
        "pghost": env.get("PGHOST", ""),
        "pgport": env.get("PGPORT", "5432"),
        "pguser": env.get("PGUSER", ""),
        "pgpassword": env.get("PGPASSWORD", ""),
        "demo_db": env.get("DEMO_DB", "sales_documents_demo"),
        "http_port": env.get("HTTP_PORT", "8069"),
    }


def log(msg):
    print(f"==> {msg}", flush=True)


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------


def check_odoo(cfg):
    path = cfg["odoo_path"]
    if not (path / "odoo-bin").is_file() or not (path / "odoo" / "release.py").is_file():
        raise SetupError(
            f"ODOO_PATH={path} is not an Odoo 18.0 source tree (no odoo-bin there). "
            "Point ODOO_PATH at one, or at a missing or empty directory for `make run` / "
            f"`make test` to fetch Odoo 18.0 there (from {cfg['odoo_git_url']})."
        )
    release = (path / "odoo" / "release.py").read_text()
    if "version_info = (18, 0" not in release and "version_info = (18,0" not in release:
        raise SetupError(f"ODOO_PATH={path} is not Odoo 18.0 (see odoo/release.py).")


def ensure_odoo(cfg):
    """Check ODOO_PATH; when it is missing or empty, fetch Odoo 18.0 there first.

    A shallow clone of the 18.0 branch of ``ODOO_GIT_URL`` (Odoo's public
    repository by default). A directory that holds anything else is never
    touched: check_odoo says what is wrong with it.
    """
    path = cfg["odoo_path"]
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        check_odoo(cfg)
        return
    url = cfg["odoo_git_url"]
    if not shutil.which("git"):
        raise SetupError(
            f"ODOO_PATH={path} holds no Odoo tree and git is missing to fetch one: "
            "install git, or point ODOO_PATH at an Odoo 18.0 source tree."
        )
    log(f"ODOO_PATH={path} holds no Odoo tree: fetching Odoo {ODOO_BRANCH} from {url} "
        "(a shallow clone, a few hundred MB; once)")
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SetupError(
            f"cannot create {path.parent} for Odoo ({exc.strerror or exc}): set ODOO_PATH to a "
            "directory you can write, e.g. ODOO_PATH=$HOME/odoo18 make run"
        ) from None
    res = subprocess.run(
        ["git", "clone", "--quiet", "--depth", "1", "--branch", ODOO_BRANCH, url, str(path)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
    )
    if res.returncode:
        # git leaves a partial clone behind: remove it so that the next run tries again.
        if existed:
            for child in path.iterdir() if path.is_dir() else ():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        else:
            shutil.rmtree(path, ignore_errors=True)
        detail = (res.stderr.strip().splitlines() or ["no message"])[-1]
        raise SetupError(
            f"fetching Odoo {ODOO_BRANCH} from {url} into {path} failed: {detail}. "
            "Check the network (or set ODOO_GIT_URL to a reachable copy of Odoo's repository), "
            "or put an Odoo 18.0 source tree there yourself and set ODOO_PATH to it."
        )
    check_odoo(cfg)
    log(f"Odoo {ODOO_BRANCH} is in {path}")


def check_postgres(cfg):
    host, port = cfg["pghost"], int(cfg["pgport"])
    where = f"host {host or '(local socket)'} port {port}"
    try:
        if not host or host.startswith("/"):
            sock_dir = host or "/var/run/postgresql"
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(3)
            sock.connect(os.path.join(sock_dir, f".s.PGSQL.{port}"))
        else:
            sock = socket.create_connection((host, port), timeout=3)
        sock.close()
    except OSError as exc:
        raise SetupError(
            f"PostgreSQL is not reachable at {where} ({exc.strerror or exc}). "
            "Start it, or set PGHOST/PGPORT/PGUSER/PGPASSWORD."
        ) from None


def check_browser(cfg):
    names = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
    if not any(shutil.which(n) for n in names):
        raise SetupError(
            "Chromium is missing: browser tests would be skipped. "
            "Install it (Debian/Ubuntu: apt-get install -y chromium)."
        )
    code = subprocess.run(
        [str(venv_python(cfg)), "-c", "import websocket"], capture_output=True
    ).returncode
    if code:
        raise SetupError(
            "The Python package websocket-client is missing from the virtual "
            f"environment {cfg['venv']}: run `make setup`."
        )


# ---------------------------------------------------------------------------
# Virtual environment
# ---------------------------------------------------------------------------


def venv_python(cfg):
    return cfg["venv"] / "bin" / "python"


def odoo_requirements(cfg):
    """Odoo's requirements evaluated as for Python 3.12.

    Odoo 18 pins, for Python < 3.12, releases that no longer build with current
    tooling; its 3.12 pins install from wheels on 3.11 as well. python-ldap is
    only needed by auth_ldap and needs system headers: it is left out.
    """
    script = (
        "import sys\n"
        "from packaging.requirements import Requirement\n"
        "env = {'python_version': '3.12', 'python_full_version': '3.12.0',"
        " 'sys_platform': sys.platform, 'platform_system': 'Linux', 'os_name': 'posix'}\n"
        "for line in open(sys.argv[1]):\n"
        "    line = line.split('#')[0].strip()\n"
        "    if not line:\n"
        "        continue\n"
        "    req = Requirement(line)\n"
        "    if req.marker and not req.marker.evaluate(env):\n"
        "        continue\n"
        "    if req.name.lower() == 'python-ldap':\n"
        "        continue\n"
        "    req.marker = None\n"
        "    print(req)\n"
    )
    out = subprocess.run(
        [str(venv_python(cfg)), "-c", script, str(cfg["odoo_path"] / "requirements.txt")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    target = BUILD / "odoo-requirements.txt"
    target.write_text(out)
    return target


def ensure_venv(cfg):
    venv = cfg["venv"]
    py = venv_python(cfg)
    BUILD.mkdir(exist_ok=True)
    if not py.exists():
        log(f"creating virtual environment {venv}")
        subprocess.run([cfg["python"], "-m", "venv", str(venv)], check=True)
    pip = [str(py), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    digest = hashlib.sha256()
    for f in (
        cfg["odoo_path"] / "requirements.txt",
        REPO / "requirements.txt",
        REPO / "requirements-test.txt",
    ):
        digest.update(f.read_bytes())
    digest.update(str(cfg["odoo_path"]).encode())
    stamp = venv / ".sales-documents-stamp"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    log("installing Odoo's and the project's Python dependencies")
    subprocess.run(pip + ["packaging"], check=True)
    req = odoo_requirements(cfg)
    subprocess.run(
        pip + ["-r", str(req), "-r", str(REPO / "requirements.txt"),
               "-r", str(REPO / "requirements-test.txt")],
        check=True,
    )
    # Make Odoo importable (pytest-odoo, benchmarks) without installing it.
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    Path(site, "odoo-source.pth").write_text(str(cfg["odoo_path"]) + "\n")
    stamp.write_text(digest.hexdigest())


# ---------------------------------------------------------------------------
# Odoo configuration and databases
# ---------------------------------------------------------------------------


def write_config(cfg, name, db_name, extra=None):
    odoo = cfg["odoo_path"]
    opts = {
        "addons_path": ",".join([str(odoo / "odoo" / "addons"), str(odoo / "addons"), str(REPO)]),
        "data_dir": str(BUILD / "data"),
        "db_host": cfg["pghost"] or "False",
        "db_port": cfg["pgport"],
        "db_user": cfg["pguser"] or "False",
        "db_password": cfg["pgpassword"] or "False",
        "db_name": db_name,
        "dbfilter": f"^{db_name}$",
        "list_db": "False",
        "http_port": cfg["http_port"],
        "without_demo": "False",
    }
    opts.update(extra or {})
    path = BUILD / f"{name}.conf"
    path.write_text("[options]\n" + "".join(f"{k} = {v}\n" for k, v in opts.items()))
    return path


def psql(cfg, sql, db="postgres"):
    """Run one statement through psycopg2 from the venv; returns stdout."""
    code = (
        "import sys, psycopg2\n"
        "kw = dict(dbname=sys.argv[1])\n"
        f"host, port, user, pw = {cfg['pghost']!r}, {cfg['pgport']!r}, {cfg['pguser']!r}, {cfg['pgpassword']!r}\n"
        "if host: kw['host'] = host\n"
        "kw['port'] = port\n"
        "if user: kw['user'] = user\n"
        "if pw: kw['password'] = pw\n"
        "conn = psycopg2.connect(**kw)\n"
        "conn.autocommit = True\n"
        "cr = conn.cursor()\n"
        "cr.execute(sys.argv[2])\n"
        "if cr.description:\n"
        "    for row in cr.fetchall(): print('|'.join(str(c) for c in row))\n"
    )
    res = subprocess.run(
        [str(venv_python(cfg)), "-c", code, db, sql], capture_output=True, text=True
    )
    if res.returncode:
        raise SetupError(f"PostgreSQL refused: {res.stderr.strip().splitlines()[-1]}")
    return res.stdout


def db_exists(cfg, name):
    return bool(psql(cfg, f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip())


def drop_db(cfg, name):
    psql(cfg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    shutil.rmtree(BUILD / "data" / "filestore" / name, ignore_errors=True)


def odoo_bin(cfg, conf, *args, check=True):
    cmd = [str(venv_python(cfg)), str(cfg["odoo_path"] / "odoo-bin"), "-c", str(conf), *args]
    return subprocess.run(cmd, check=check)


def selected_addons():
    """The addons to install: all of them, or TEST_MODULES (comma-separated) while developing."""
    chosen = [m.strip() for m in os.environ.get("TEST_MODULES", "").split(",") if m.strip()]
    unknown = set(chosen) - set(ADDONS)
    if unknown:
        raise SetupError(f"TEST_MODULES names unknown addons: {', '.join(sorted(unknown))}")
    return chosen or list(ADDONS)


def create_db(cfg, conf, name, demo):
    """Create ``name`` with the addons installed; drop it if anything fails."""
    log(f"creating database {name} ({'with' if demo else 'without'} demo data)")
    addons = selected_addons()
    args = ["-d", name, "-i", ",".join(addons), "--stop-after-init", "--log-level=warn"]
    if not demo:
        args.append("--without-demo=all")
    try:
        res = odoo_bin(cfg, conf, *args, check=False)
        if res.returncode:
            raise SetupError(f"installing the addons into {name} failed (see the log above)")
        state = psql(
            cfg,
            "SELECT count(*) FROM ir_module_module WHERE state = 'installed' AND name IN ("
            + ",".join(f"'{a}'" for a in addons) + ")",
            db=name,
        ).strip()
        if state != str(len(addons)):
            raise SetupError(f"the addons did not all install into {name}")
    except BaseException:
        log(f"dropping the half-made database {name}")
        drop_db(cfg, name)
        raise


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------


def cmd_setup(cfg, _args):
    ensure_odoo(cfg)
    ensure_venv(cfg)
    log("virtual environment ready")


DEMO_ORDERS = 300


def split_run_args(rest):
    """``make run`` arguments: ``--demo-orders N`` for the demo filler, the rest for Odoo."""
    orders, odoo_args, rest = DEMO_ORDERS, [], list(rest)
    while rest:
        arg = rest.pop(0)
        if arg == "--demo-orders" or arg.startswith("--demo-orders="):
            value = arg.partition("=")[2] if "=" in arg else (rest.pop(0) if rest else "")
            if not value.isdigit():
                raise SetupError(f"--demo-orders needs a number of orders (0: no demo activity), not {value!r}")
            orders = int(value)
        else:
            odoo_args.append(arg)
    return orders, odoo_args


# A backup key pair and an audit signing key for the demo database, made once
# into the data directory (never into the repository), with the cryptography
# package of the virtual environment.
DEMO_KEYS_SCRIPT = """
import sys
from pathlib import Path
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
folder = Path(sys.argv[1])
folder.mkdir(parents=True, exist_ok=True)
folder.chmod(0o700)
pem, raw = serialization.Encoding.PEM, serialization.NoEncryption()
for name, key in (("backup", rsa.generate_private_key(65537, 3072)), ("audit", ed25519.Ed25519PrivateKey.generate())):
    private, public = folder / f"{name}_private.pem", folder / f"{name}_public.pem"
    if private.exists():
        continue
    public.write_bytes(key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo))
    private.touch(0o600)
    private.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, raw))
"""


def demo_server_options(cfg):
    """Server options of the demo database: keys and anchor store in the data directory.

    ``.build/data/demo-keys/`` holds an RSA pair that encrypts (and, for the
    restore tests, decrypts) the backups and the Ed25519 key that signs the
    audit checkpoints, anchored in ``.build/data/demo-anchors/``. Demo keys
    only: a real installation keeps the private keys away from the server
    that is backed up.
    """
    keys = BUILD / "data" / "demo-keys"
    if not all((keys / f"{name}_private.pem").exists() for name in ("backup", "audit")):
        log(f"generating the demo key pairs into {keys}")
        subprocess.run([str(venv_python(cfg)), "-c", DEMO_KEYS_SCRIPT, str(keys)], check=True)
    anchors = BUILD / "data" / "demo-anchors"
    anchors.mkdir(parents=True, exist_ok=True)
    return {
        "sales_backup_public_key": str(keys / "backup_public.pem"),
        "sales_backup_private_key": str(keys / "backup_private.pem"),
        "sales_audit_signing_key": str(keys / "audit_private.pem"),
        "sales_audit_anchor_dir": str(anchors),
    }


def demo_data_complete(cfg, name):
    """Whether the demo filler has completed on database ``name``."""
    value = psql(cfg, "SELECT value FROM ir_config_parameter WHERE key = 'sales_documents.demo_data'", db=name)
    return '"complete": true' in value


def fill_demo_data(cfg, conf, name, orders):
    """Run the demo filler (tools/demo_data.py) on ``name``; it resumes an interrupted fill."""
    log(f"filling {name} with a year of demo activity ({orders} orders; a few minutes, once)")
    code = subprocess.run(
        [str(venv_python(cfg)), str(REPO / "tools" / "demo_data.py"), "-c", str(conf), "-d", name,
         "--orders", str(orders)],
        cwd=REPO,
    ).returncode
    if code:
        raise SetupError(
            f"filling {name} with demo data failed (see above); `make run` again resumes where it stopped"
        )


def cmd_run(cfg, args):
    ensure_odoo(cfg)
    check_postgres(cfg)
    ensure_venv(cfg)
    orders, odoo_args = split_run_args(args.rest)
    name = cfg["demo_db"]
    conf = write_config(cfg, "run", name, {"proxy_mode": "False", **demo_server_options(cfg)})
    if not db_exists(cfg, name):
        create_db(cfg, conf, name, demo=True)
    if orders and not demo_data_complete(cfg, name):
        fill_demo_data(cfg, conf, name, orders)
    log(f"serving {name} on http://localhost:{cfg['http_port']} (login admin / admin; demo users in README.md)")
    os.execv(
        str(venv_python(cfg)),
        [str(venv_python(cfg)), str(cfg["odoo_path"] / "odoo-bin"), "-c", str(conf), "-d", name,
         *odoo_args],
    )


def cmd_lint(cfg, _args):
    ensure_odoo(cfg)
    ensure_venv(cfg)
    py = str(venv_python(cfg))
    targets = [t for t in (*ADDONS, "tests", "benchmarks", "tools", "conftest.py")
               if (REPO / t).exists()]
    log("ruff")
    code = subprocess.run([py, "-m", "ruff", "check", *targets], cwd=REPO).returncode
    log("pylint-odoo (mandatory checks)")
    code |= subprocess.run(
        [py, "-m", "pylint", "--rcfile", str(REPO / ".pylintrc-mandatory"), *ADDONS],
        cwd=REPO,
    ).returncode
    if code:
        raise SetupError("lint failed (see above)")


def prepare_tests(cfg, args):
    """What every test run needs (Odoo, PostgreSQL, the environment, Chromium), then the lint (LINT=0 skips it)."""
    ensure_odoo(cfg)
    check_postgres(cfg)
    ensure_venv(cfg)
    check_browser(cfg)
    if os.environ.get("LINT", "1") != "0":
        cmd_lint(cfg, args)


def cmd_test(cfg, args):
    prepare_tests(cfg, args)
    # TEST_DB names a database to keep between runs while developing (created
    # on first use, updated afterwards); the default is a fresh one, dropped.
    keep = os.environ.get("TEST_DB")
    name = keep or f"sales_documents_test_{uuid.uuid4().hex[:8]}"
    conf = write_config(cfg, f"test-{name}", name, {"without_demo": "all", "log_level": "warn"})
    if keep and db_exists(cfg, name):
        log(f"updating the kept database {name}")
        # -i installs addons the kept database does not have yet, -u updates the others.
        addons = ",".join(selected_addons())
        if odoo_bin(cfg, conf, "-d", name, "-i", addons, "-u", addons, "--stop-after-init",
                    "--log-level=warn", check=False).returncode:
            raise SetupError(f"updating the addons in {name} failed (see the log above)")
    else:
        create_db(cfg, conf, name, demo=False)
    try:
        paths = args.rest or [*(f"{a}/tests" for a in ADDONS), "tests"]
        cmd = [
            str(venv_python(cfg)), "-m", "pytest", "-p", "no:cacheprovider",
            f"--odoo-config={conf}", f"--odoo-database={name}", "--odoo-http",
            "--odoo-log-level=warn", *paths,
        ]
        log("running the tests: " + " ".join(cmd[2:]))
        code = subprocess.run(cmd, cwd=REPO, env={**os.environ, "SALES_DOCUMENTS_TEST_CONF": str(conf)}).returncode
    finally:
        if not keep:
            log(f"dropping {name}")
            drop_db(cfg, name)
    if code:
        raise SetupError(f"tests failed (pytest exit code {code})")


def cmd_test_ha(cfg, args):
    """Two Odoo servers on a PostgreSQL primary with a streaming standby: build, test, tear down."""
    prepare_tests(cfg, args)
    sys.path.insert(0, str(REPO / "tools"))
    import ha  # noqa: PLC0415 - standard library only, next to this file

    try:
        code = ha.run_tests(str(venv_python(cfg)), cfg["odoo_path"], args.rest)
    except ha.TopologyError as exc:
        raise SetupError(f"the HA topology could not be built: {exc}") from None
    if code:
        raise SetupError(f"HA tests failed (pytest exit code {code})")


def cmd_bench(cfg, args):
    ensure_odoo(cfg)
    check_postgres(cfg)
    ensure_venv(cfg)
    env = {**os.environ, "ODOO_PATH": str(cfg["odoo_path"]), "PYTHONPATH": str(REPO)}
    code = subprocess.run(
        [str(venv_python(cfg)), "-m", "benchmarks", *args.rest], cwd=REPO, env=env
    ).returncode
    if code:
        raise SetupError(f"benchmark failed (exit code {code})")


def cmd_check(cfg, _args):
    check_odoo(cfg)
    check_postgres(cfg)
    ensure_venv(cfg)
    check_browser(cfg)
    log("all prerequisites present")


COMMANDS = {
    "setup": cmd_setup,
    "run": cmd_run,
    "test": cmd_test,
    "test-ha": cmd_test_ha,
    "lint": cmd_lint,
    "bench": cmd_bench,
    "check": cmd_check,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    cfg = settings()
    try:
        COMMANDS[args.command](cfg, args)
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"error: command failed ({exc.returncode}): {' '.join(map(str, exc.cmd))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
