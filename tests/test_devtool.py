"""`make run` / `make test` fetch Odoo 18.0 themselves when ODOO_PATH holds none.

Plain tests (no Odoo, no network): a local git repository with a minimal
Odoo-like tree, served by a file:// URL, stands for Odoo's repository; an
unreachable URL stands for a network that refuses.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEVTOOL = REPO / "tools" / "devtool.py"
UNREACHABLE = "file:///nonexistent/odoo.git"


def load_devtool():
    spec = importlib.util.spec_from_file_location("sales_documents_devtool_test", DEVTOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def git(*args, cwd):
    subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main",
         *args],
        cwd=cwd, check=True, capture_output=True,
    )


@pytest.fixture
def fake_odoo_url(tmp_path):
    """A file:// URL of a git repository whose branch 18.0 holds a minimal Odoo 18.0 tree."""
    source = tmp_path / "odoo-source"
    (source / "odoo").mkdir(parents=True)
    (source / "odoo-bin").write_text("#!/usr/bin/env python3\n")
    (source / "odoo" / "release.py").write_text("version_info = (18, 0, 0, 'final', 0, '')\n")
    (source / "requirements.txt").write_text("psycopg2\n")
    git("init", "-q", cwd=source)
    git("checkout", "-q", "-b", "18.0", cwd=source)
    git("add", "-A", cwd=source)
    git("commit", "-q", "-m", "Odoo 18.0", cwd=source)
    # A branch other than 18.0 is never what gets cloned.
    git("checkout", "-q", "-b", "17.0", cwd=source)
    (source / "odoo" / "release.py").write_text("version_info = (17, 0, 0, 'final', 0, '')\n")
    git("commit", "-q", "-am", "Odoo 17.0", cwd=source)
    return f"file://{source}"


def settings(devtool, odoo_path, url):
    cfg = devtool.settings()
    cfg["odoo_path"] = odoo_path
    cfg["odoo_git_url"] = url
    return cfg


def test_missing_odoo_tree_is_cloned_from_the_18_0_branch(tmp_path, fake_odoo_url, capsys):
    devtool = load_devtool()
    target = tmp_path / "opt" / "odoo18"
    devtool.ensure_odoo(settings(devtool, target, fake_odoo_url))
    assert (target / "odoo-bin").is_file()
    assert "(18, 0" in (target / "odoo" / "release.py").read_text()
    assert (target / "requirements.txt").is_file()
    # A shallow clone: one commit of history.
    depth = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=target, capture_output=True, text=True)
    assert depth.stdout.strip() == "1"
    out = capsys.readouterr().out
    assert out.count("fetching Odoo 18.0") == 1, out
    assert fake_odoo_url in out
    # The next run finds the tree and fetches nothing.
    devtool.ensure_odoo(settings(devtool, target, fake_odoo_url))
    assert "fetching" not in capsys.readouterr().out


def test_empty_directory_is_filled(tmp_path, fake_odoo_url):
    devtool = load_devtool()
    target = tmp_path / "odoo18"
    target.mkdir()
    devtool.ensure_odoo(settings(devtool, target, fake_odoo_url))
    assert (target / "odoo-bin").is_file()


def test_a_directory_holding_something_else_is_left_alone(tmp_path, fake_odoo_url):
    devtool = load_devtool()
    target = tmp_path / "odoo18"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(devtool.SetupError, match="not an Odoo 18.0 source tree"):
        devtool.ensure_odoo(settings(devtool, target, fake_odoo_url))
    assert [p.name for p in target.iterdir()] == ["notes.txt"]


def test_refused_network_fails_cleanly(tmp_path):
    devtool = load_devtool()
    target = tmp_path / "opt" / "odoo18"
    with pytest.raises(devtool.SetupError) as error:
        devtool.ensure_odoo(settings(devtool, target, UNREACHABLE))
    message = str(error.value)
    assert f"fetching Odoo 18.0 from {UNREACHABLE} into {target} failed" in message
    assert "ODOO_GIT_URL" in message and "ODOO_PATH" in message
    # Nothing half-cloned is left behind: the next run tries again.
    assert not target.exists()


@pytest.mark.parametrize("command", ["run", "test"])
def test_make_targets_say_what_failed_when_the_network_refuses(tmp_path, command):
    """`make run` and `make test` on a machine without Odoo and without network: one message, exit 1."""
    target = tmp_path / "odoo18"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ODOO_PATH": str(target), "ODOO_GIT_URL": UNREACHABLE}
    done = subprocess.run(["make", "-s", "-C", str(REPO), command, "PYTHON=" + sys.executable],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert f"==> ODOO_PATH={target} holds no Odoo tree: fetching Odoo 18.0 from {UNREACHABLE}" in done.stdout
    assert done.stderr.count("error: fetching Odoo 18.0") == 1, done.stderr
    assert not target.exists()


# ---------------------------------------------------------------------------
# `make run`: the demo database is filled once, with demo keys in its config
# ---------------------------------------------------------------------------


class Served(Exception):
    """Stands for the os.execv that hands the terminal to the Odoo server."""


@pytest.fixture
def run_wiring(tmp_path, monkeypatch):
    """devtool with every external step replaced by a recorder; returns (devtool, calls, state)."""
    devtool = load_devtool()
    calls = {"create": [], "fill": [], "exec": []}
    state = {"exists": False, "complete": False}
    monkeypatch.setattr(devtool, "BUILD", tmp_path / "build")
    (tmp_path / "build").mkdir()
    monkeypatch.setattr(devtool, "ensure_odoo", lambda cfg: None)
    monkeypatch.setattr(devtool, "check_postgres", lambda cfg: None)
    monkeypatch.setattr(devtool, "ensure_venv", lambda cfg: None)
    monkeypatch.setattr(devtool, "db_exists", lambda cfg, name: state["exists"])
    monkeypatch.setattr(devtool, "demo_data_complete", lambda cfg, name: state["complete"])

    def create_db(cfg, conf, name, demo):
        calls["create"].append((name, demo))
        state["exists"] = True

    def fill(cfg, conf, name, orders):
        calls["fill"].append((Path(conf).read_text(), name, orders))
        state["complete"] = True

    def execv(path, argv):
        calls["exec"].append(argv)
        raise Served()

    monkeypatch.setattr(devtool, "create_db", create_db)
    monkeypatch.setattr(devtool, "fill_demo_data", fill)
    monkeypatch.setattr(devtool.os, "execv", execv)
    return devtool, calls, state


def run(devtool, *rest):
    cfg = devtool.settings()
    cfg["venv"] = Path(sys.executable).parent.parent
    cfg["demo_db"] = "demo_wiring"
    with pytest.raises(Served):
        devtool.COMMANDS["run"](cfg, devtool.argparse.Namespace(rest=list(rest)))


def test_run_creates_fills_once_then_serves(run_wiring):
    devtool, calls, _state = run_wiring
    run(devtool, "--demo-orders", "40", "--dev=xml")
    assert calls["create"] == [("demo_wiring", True)]
    conf, name, orders = calls["fill"][0]
    assert (name, orders) == ("demo_wiring", 40)
    options = dict(line.split(" = ", 1) for line in conf.splitlines()[1:])
    for option in ("sales_backup_public_key", "sales_backup_private_key", "sales_audit_signing_key"):
        assert Path(options[option]).is_file(), option
        assert Path(options[option]).is_relative_to(devtool.BUILD / "data" / "demo-keys")
    assert Path(options["sales_audit_anchor_dir"]).is_dir()
    argv = calls["exec"][0]
    assert argv[-1] == "--dev=xml" and "--demo-orders" not in argv and "40" not in argv
    # Second run: the database exists and is filled: nothing is made again.
    keys_before = {p.name: p.read_bytes() for p in (devtool.BUILD / "data" / "demo-keys").iterdir()}
    run(devtool)
    assert len(calls["create"]) == 1 and len(calls["fill"]) == 1 and len(calls["exec"]) == 2
    assert {p.name: p.read_bytes() for p in (devtool.BUILD / "data" / "demo-keys").iterdir()} == keys_before


def test_run_resumes_an_unfinished_fill_and_demo_orders_0_skips_it(run_wiring):
    devtool, calls, state = run_wiring
    state["exists"] = True
    run(devtool)
    assert calls["create"] == []
    assert calls["fill"][0][1:] == ("demo_wiring", devtool.DEMO_ORDERS)
    state["complete"] = False
    run(devtool, "--demo-orders=0")
    assert len(calls["fill"]) == 1


def test_demo_keys_are_real_key_pairs(run_wiring):
    devtool, _calls, _state = run_wiring
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    cfg = devtool.settings()
    cfg["venv"] = Path(sys.executable).parent.parent
    options = devtool.demo_server_options(cfg)
    public = serialization.load_pem_public_key(Path(options["sales_backup_public_key"]).read_bytes())
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size >= 2048
    private = serialization.load_pem_private_key(Path(options["sales_backup_private_key"]).read_bytes(), None)
    assert private.public_key().public_numbers() == public.public_numbers()
    signing = serialization.load_pem_private_key(Path(options["sales_audit_signing_key"]).read_bytes(), None)
    assert isinstance(signing, ed25519.Ed25519PrivateKey)
    for name in ("sales_backup_private_key", "sales_audit_signing_key"):
        assert Path(options[name]).stat().st_mode & 0o077 == 0, f"{name} readable by others"


@pytest.mark.parametrize("value", ["", "many", "-3"])
def test_demo_orders_needs_a_number(value):
    devtool = load_devtool()
    with pytest.raises(devtool.SetupError, match="--demo-orders needs a number"):
        devtool.split_run_args(["--demo-orders", value] if value else ["--demo-orders"])
