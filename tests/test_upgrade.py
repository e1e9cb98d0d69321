"""Upgrading a filled database of the previous release loses nothing.

The previous release is the last one in ``releases.json``; its code comes from
this repository's own history (``git archive`` of its commit, so a shallow
clone fails with a message saying how to fetch it). The test:

1. installs that release's addons into a new database (``odoo-bin -i``, Odoo's
   addons plus the release's tree on the addons path), without demo data;
2. fills it with the release's own data generator: order-to-cash flows
   (deliveries, invoices, partial payments, returns with credit notes), a
   cancelled quotation and a draft one; seals the audit rows, sends the
   document journal and runs one full encrypted backup to a local destination
   (a key pair generated for the test);
3. records the count and a digest of every row of Odoo's document tables and
   of every table of the addons (models, many2many relations, the registry
   store);
4. upgrades the addons to the working tree (``odoo-bin -u``) and checks: no
   table, column or row lost, no row changed (on the columns that existed
   before), the registry store equal to the documents, the audit chain
   verified across the upgrade and continued by the next seal, the journal's
   next entry chained to the last one sent before, the backup still where it
   was written with its checksum, and the installed versions those of the
   manifests.

It runs once in ``make test`` (it is a module of the top-level ``tests/``) and
takes a few minutes; ``-m "not upgrade"`` leaves it out while developing.
"""

import ast
import configparser
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from . import upgrade_steps

REPO = Path(__file__).resolve().parent.parent
RELEASES = REPO / "releases.json"
STEPS = Path(upgrade_steps.__file__).resolve()
FLOWS = 30
VERSION = re.compile(r"18\.0\.\d+\.\d+\.\d+")
COMMIT = re.compile(r"[0-9a-f]{40}")
# The indexes of the audit trail on a fresh install (every audited write enters them).
AUDIT_LOG_INDEXES = (
    "sales_document_audit_log_pkey", "sales_document_audit_log_document_idx", "sales_document_audit_log_unsealed_idx",
    "sales_document_audit_log__user_id_index", "sales_document_audit_log__timestamp_index",
    "sales_document_audit_log__sequence_index", "sales_document_audit_log__checkpoint_id_index",
)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def previous_release():
    releases = json.loads(RELEASES.read_text())["releases"]
    assert releases, f"{RELEASES} lists no release"
    return releases[-1]


def git(*args, check=True):
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, check=check)


def release_tree(release, target):
    """Extract the release's commit from the repository's history into ``target``."""
    commit = release["commit"]
    if not shutil.which("git") or git("rev-parse", "--git-dir", check=False).returncode:
        pytest.fail(
            f"The upgrade test installs release {release['version']} (commit {commit}) from the "
            f"repository's history, but {REPO} is not a git clone (or git is missing). Run the tests "
            "from a git clone of the repository."
        )
    if git("cat-file", "-e", f"{commit}^{{commit}}", check=False).returncode:
        shallow = git("rev-parse", "--is-shallow-repository", check=False).stdout.decode().strip() == "true"
        pytest.fail(
            f"The upgrade test installs release {release['version']} from commit {commit}, which this "
            f"clone does not have{' (it is a shallow clone)' if shallow else ''}. Fetch the history "
            f"first: `git fetch --unshallow` (or `git fetch origin {commit}`), then run the tests again."
        )
    archive = git("archive", "--format=tar", commit).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def manifest(addon_dir):
    return ast.literal_eval((addon_dir / "__manifest__.py").read_text())


def manifest_version(addon_dir):
    return manifest(addon_dir)["version"]


def _settings():
    """Database options and paths of the running test configuration."""
    import odoo

    conf = os.environ.get("SALES_DOCUMENTS_TEST_CONF") or odoo.tools.config.rcfile
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(conf)
    options = dict(parser["options"]) if parser.has_section("options") else {}
    odoo_path = Path(odoo.__path__[0]).resolve().parent
    return {
        "db": {k: options[k] for k in ("db_host", "db_port", "db_user", "db_password") if k in options},
        "odoo_path": odoo_path,
        "test_db": odoo.tools.config["db_name"] or "sales_documents",
    }


def write_config(path, settings, addons_dir, data_dir, extra):
    odoo_path = settings["odoo_path"]
    options = {
        **settings["db"],
        "addons_path": ",".join([str(odoo_path / "odoo" / "addons"), str(odoo_path / "addons"), str(addons_dir)]),
        "data_dir": str(data_dir),
        "without_demo": "all",
        "max_cron_threads": "0",
        "log_level": "warn",
        **extra,
    }
    path.write_text("[options]\n" + "".join(f"{k} = {v}\n" for k, v in options.items()))
    return path


TIMINGS = {}


def run(command, log_path, what, env=None):
    """Run a step; fail the test with the end of its output when it fails."""
    started = time.monotonic()
    with open(log_path, "w") as log:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=REPO,
                              check=False)
    TIMINGS[Path(log_path).stem] = time.monotonic() - started
    output = Path(log_path).read_text()
    if done.returncode:
        pytest.fail(f"{what} failed (exit code {done.returncode}):\n{output[-4000:]}\n{done.stdout[-2000:]}")
    return done.stdout, output


def last_json(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


def key_pair(directory):
    """An RSA key pair for the backups of the test (PEM files)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private, public = directory / "backup-private.pem", directory / "backup-public.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    os.chmod(private, 0o600)
    return private, public


def drop_database(settings, name):
    import psycopg2

    kwargs = {"dbname": "postgres"}
    for option, key in (("db_host", "host"), ("db_port", "port"), ("db_user", "user"), ("db_password", "password")):
        value = settings["db"].get(option)
        if value and value != "False":
            kwargs[key] = value
    conn = psycopg2.connect(**kwargs)
    conn.autocommit = True
    try:
        with conn.cursor() as cr:
            cr.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()


# ---------------------------------------------------------------------------
# The comparison itself can fail
# ---------------------------------------------------------------------------


def _table(rows, columns=("id", "name")):
    return {"columns": list(columns), "missing_columns": [], "count": len(rows), "rows": dict(rows)}


def test_compare_reports_lost_changed_and_missing():
    before = {"tables": {"a": _table({"1": "x", "2": "y"}), "b": _table({"1": "x"}),
                         "c": {"columns": ["k"], "missing_columns": [], "count": 2, "digests": ["p", "q"]},
                         "d": _table({})}}
    after = {"tables": {"a": _table({"1": "x", "2": "z", "3": "new"}),
                        "b": {**_table({"1": "x"}), "missing_columns": ["name"]},
                        "c": {"columns": ["k"], "missing_columns": [], "count": 1, "digests": ["q"]}},
             "missing_tables": ["d"]}
    problems = upgrade_steps.compare(before, after)
    assert problems == [
        "table d is gone",
        "a: 1 rows changed (ids 2)",
        "b: columns gone: name",
        "c: 1 of 2 rows lost or changed",
    ], problems
    after["tables"]["a"]["rows"].pop("1")
    assert "a: 1 of 2 rows lost (ids 1)" in upgrade_steps.compare(before, after)
    # An upgrade that only adds rows and tables loses nothing.
    assert upgrade_steps.compare(before, {"tables": {**before["tables"], "e": _table({"1": "x"})}}) == []


# ---------------------------------------------------------------------------
# The upgrade
# ---------------------------------------------------------------------------


@pytest.mark.upgrade
def test_upgrade_from_previous_release_keeps_every_row():
    release = previous_release()
    settings = _settings()
    work = Path(tempfile.mkdtemp(prefix="sd-upgrade-"))
    database = f"{settings['test_db']}_upg_{uuid.uuid4().hex[:6]}"[-63:]
    try:
        _upgrade(release, settings, work, database)
    finally:
        drop_database(settings, database)
        shutil.rmtree(work, ignore_errors=True)


def _upgrade(release, settings, work, database):
    old_tree = release_tree(release, work / "release")
    addons = [name for name in release["addons"] if (old_tree / name / "__manifest__.py").is_file()]
    assert addons, f"release {release['version']} has none of its addons in its tree"
    for name in addons:
        assert manifest_version(old_tree / name) == release["addons"][name], (
            f"releases.json says {name} {release['addons'][name]} for release {release['version']}, "
            f"its manifest at {release['commit']} says {manifest_version(old_tree / name)}"
        )
    backup_dir = work / "backups"
    backup_dir.mkdir()
    private, public = key_pair(work)
    backup_options = {
        "sales_backup_public_key": public,
        "sales_backup_private_key": private,
        "sales_backup_allowed_roots": work,
        "sales_backup_detached": "False",
    }
    data_dir = work / "data"
    old_conf = write_config(work / "release.conf", settings, old_tree, data_dir, backup_options)
    new_conf = write_config(work / "working.conf", settings, REPO, data_dir, backup_options)
    odoo_bin = [sys.executable, str(settings["odoo_path"] / "odoo-bin")]
    python_env = {**os.environ, "PYTHONPATH": str(REPO)}

    # 1. The previous release, installed and filled.
    run([*odoo_bin, "-c", str(old_conf), "-d", database, "-i", ",".join(addons), "--stop-after-init"],
        work / "install.log", f"installing release {release['version']} ({', '.join(addons)})")
    stdout, _log = run([sys.executable, str(STEPS), "fill", "--config", str(old_conf), "--database", database,
                        "--release-tree", str(old_tree), "--flows", str(FLOWS), "--backup-dir", str(backup_dir)],
                       work / "fill.log", "filling the release's database", env=python_env)
    before = last_json(stdout)
    (work / "fill.json").write_text(json.dumps(before))
    assert before["flows"] == FLOWS and before["credit_notes"] and before["payments"], before
    assert before["backup"]["state"] == "done", before["backup"]
    assert before["journal"]["last_sent"] and not before["journal"]["queued"], before["journal"]
    assert before["audit"], "the filled database has no sealed audit row"
    for company, audit in before["audit"].items():
        assert audit["verify"]["ok"] and audit["verify"]["checked"] == audit["sealed"], (company, audit)
    assert set(before["store"].values()) == {0}, before["store"]

    snapshot = [sys.executable, str(STEPS), "snapshot", "--config", str(old_conf), "--database", database,
                "--addons", ",".join(addons)]
    run([*snapshot, "--out", str(work / "before.json")], work / "snapshot-before.log", "the snapshot before")
    rows_before = json.loads((work / "before.json").read_text())
    for table in upgrade_steps.DOCUMENT_TABLES[:7]:
        assert rows_before["tables"][table]["count"], f"the filled database has no row in {table}"

    # 2. The upgrade to the working tree.
    _stdout, upgrade_log = run(
        [*odoo_bin, "-c", str(new_conf), "-d", database, "-u", ",".join(addons), "--stop-after-init"],
        work / "upgrade.log", "upgrading to the working tree",
    )
    errors = [line for line in upgrade_log.splitlines() if " ERROR " in line or " CRITICAL " in line]
    assert not errors, "the upgrade logged errors:\n" + "\n".join(errors[:20])

    # 3. Nothing lost, nothing changed.
    run([*snapshot, "--columns-from", str(work / "before.json"), "--out", str(work / "after.json")],
        work / "snapshot-after.log", "the snapshot after")
    rows_after = json.loads((work / "after.json").read_text())
    problems = upgrade_steps.compare(rows_before, rows_after)
    assert not problems, "the upgrade lost or changed data:\n" + "\n".join(problems)

    # 4. The registry, the audit chain, the journal and the backup carry on.
    stdout, _log = run([sys.executable, str(STEPS), "verify", "--config", str(new_conf), "--database", database,
                        "--before", str(work / "fill.json")],
                       work / "verify.log", "the checks after the upgrade", env=python_env)
    after = last_json(stdout)
    assert set(after["store"].values()) == {0}, f"registry store differs from the documents: {after['store']}"
    assert set(after["store_after_change"].values()) == {0}, after["store_after_change"]
    for company, audit in before["audit"].items():
        upgraded = after["audit_after_upgrade"][company]
        assert upgraded["verify"]["ok"], (company, upgraded)
        assert upgraded["verify"]["checked"] == audit["verify"]["checked"], (company, upgraded)
        assert upgraded["last_checkpoint_hash"] == audit["last_checkpoint_hash"], (company, upgraded)
        changed = after["audit_after_change"][company]
        assert changed["verify"]["ok"] and changed["sealed"] > audit["sealed"], (company, changed)
    company = str(after["company_id"])
    assert after["new_checkpoint_prev_hash"] == before["audit"][company]["last_checkpoint_hash"], (
        "the first checkpoint sealed after the upgrade does not chain to the last one before it"
    )
    entry, last = after["new_journal_entry"], before["journal"]["last_sent"][company]
    assert entry["state"] == "sent", entry
    assert entry["sequence"] == last["sequence"] + 1 and entry["prev_hash"] == last["entry_hash"], (
        f"the journal does not continue its sequence: last before {last}, next after {entry}"
    )
    backup = after["backup"]
    assert backup["state"] == "done" and backup["sha256"] == before["backup"]["sha256"], backup
    assert backup["copies"], backup
    for copy in backup["copies"]:
        assert copy["found"] and copy["sha256"] == copy["recorded_sha256"], copy
    # Odoo keeps an index it no longer expects: the audit migration drops them.
    indexes = after["audit_log_indexes"]
    assert sorted(indexes) == sorted(AUDIT_LOG_INDEXES), sorted(indexes)
    for name in ("sales_document_audit_log__sequence_index", "sales_document_audit_log__checkpoint_id_index"):
        assert "IS NOT NULL" in indexes[name], (name, indexes[name])
    # Nor a foreign key: the migration drops those of the user and the company.
    foreign_keys = set(after["audit_log_foreign_keys"])
    assert "checkpoint_id" in foreign_keys and not foreign_keys & {"user_id", "company_id"}, foreign_keys
    records = after["audit_log_foreign_key_records"]
    assert not [name for name in records if "_user_id_" in name or "_company_id_" in name], records
    for name in addons:
        expected = manifest_version(REPO / name)
        assert after["versions"].get(name) == expected, f"{name}: {after['versions'].get(name)} != {expected}"
    # An addon the working tree installs automatically with addons already
    # installed must be there after the upgrade too: Odoo's update does not
    # install a new auto-install addon by itself (a migration must).
    for path in sorted(REPO.glob("*/__manifest__.py")):
        info = manifest(path.parent)
        needs = info["auto_install"] if isinstance(info.get("auto_install"), list) else info.get("depends", [])
        if info.get("auto_install") and all(dep in after["versions"] for dep in needs):
            assert path.parent.name in after["versions"], (
                f"{path.parent.name} installs itself with {', '.join(needs)}, which are installed, but the "
                "upgrade did not install it: a migration of one of them must (button_install in a post-migrate)"
            )
    print(
        f"upgrade {release['version']} -> working tree: {len(rows_before['tables'])} tables, "
        f"{sum(t['count'] for t in rows_before['tables'].values())} rows kept; {before['flows']} flows, "
        f"{sum(a['sealed'] for a in before['audit'].values())} sealed audit rows, journal at "
        f"{', '.join(str(j['sequence']) for j in before['journal']['last_sent'].values())}; seconds: "
        + ", ".join(f"{step} {seconds:.0f}" for step, seconds in TIMINGS.items())
    )


def _version(text):
    return tuple(int(part) for part in text.split("."))


def test_releases_and_versions_are_recorded():
    """releases.json names each release by version and full commit id; since the last release an
    addon's version only goes up, and its HISTORY.md and migrations follow its version."""
    releases = json.loads(RELEASES.read_text())["releases"]
    assert releases
    for release in releases:
        assert VERSION.fullmatch(release["version"]), release
        assert COMMIT.fullmatch(release["commit"]), f"not a full commit id: {release['commit']}"
        assert release["addons"] and all(VERSION.fullmatch(v) for v in release["addons"].values()), release
    assert [_version(r["version"]) for r in releases] == sorted(_version(r["version"]) for r in releases)
    last = releases[-1]["addons"]
    addons = sorted(p.parent for p in REPO.glob("*/__manifest__.py"))
    assert addons
    for addon in addons:
        version = manifest_version(addon)
        assert VERSION.fullmatch(version), (addon.name, version)
        if addon.name in last:
            assert _version(version) >= _version(last[addon.name]), (addon.name, version, last[addon.name])
        history = (addon / "readme" / "HISTORY.md").read_text()
        assert f"## {version}" in history, f"{addon.name}/readme/HISTORY.md has no line for {version}"
        for script_dir in (addon / "migrations").glob("*") if (addon / "migrations").is_dir() else ():
            assert _version(script_dir.name) <= _version(version), (addon.name, script_dir.name, version)
            assert f"## {script_dir.name}" in history, (addon.name, script_dir.name)
