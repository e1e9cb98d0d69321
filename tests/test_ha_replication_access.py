"""Loopback replication access that a standby of an existing cluster needs.

The registry benchmark's ``--replica`` makes a standby of the cluster its
database lives in; ``tools/ha.py`` adds the replication line to that
cluster's ``pg_hba.conf`` only when it is missing, and takes out exactly that
line at the end. Plain tests on a configuration directory of their own: no
cluster is touched.
"""

import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parent.parent / "tools"
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))
import ha  # noqa: E402 - tools/ is not a package

HBA = "local all all trust\nhost all all 127.0.0.1/32 trust\n"


class FakeCluster(ha.Cluster):
    """A cluster whose configuration directory is a temporary one; SQL is recorded."""

    def __init__(self, conf_dir):
        super().__init__("15", "fake", 5999)
        self.conf_dir = conf_dir
        self.sql = []

    def psql(self, sql, db="postgres"):
        self.sql.append(sql)
        return ""


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    monkeypatch.setattr(ha, "as_root", lambda cmd: cmd)
    (tmp_path / "pg_hba.conf").write_text(HBA)
    return FakeCluster(tmp_path)


def test_line_added_once_then_taken_out(cluster):
    hba = cluster.conf_dir / "pg_hba.conf"
    assert ha.allow_replication(cluster) is True
    assert hba.read_text() == HBA + ha.REPLICATION_LINE + "\n"
    assert cluster.sql == ["SELECT pg_reload_conf()"]
    ha.forbid_replication(cluster)
    assert hba.read_text() == HBA
    assert cluster.sql == ["SELECT pg_reload_conf()"] * 2


def test_existing_line_left_alone(cluster):
    hba = cluster.conf_dir / "pg_hba.conf"
    hba.write_text(HBA + ha.REPLICATION_LINE + "\n")
    assert ha.allow_replication(cluster) is False
    assert hba.read_text() == HBA + ha.REPLICATION_LINE + "\n"
    assert cluster.sql == []
