"""A streaming standby of the cluster that holds the scratch databases.

Odoo 18 sends read-only work to a replica named by ``db_replica_host`` /
``db_replica_port``. To measure queries where production answers them, a
benchmark builds a hot standby of the PostgreSQL cluster its scratch
database lives in (``pg_basebackup -R`` on loopback, with the helpers of
``tools/ha.py``), points the session's Odoo at it and drops it at the end.

A base backup copies the whole cluster, every database in it: the space is
checked first. The cluster must accept loopback replication connections;
when its ``pg_hba.conf`` has no such line, one is added for the run and
taken out again at the end (both printed).
"""

import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

from odoo.tools import SQL

from .scratch import BenchError, log

TOOLS = Path(__file__).resolve().parent.parent / "tools"
STANDBY_PORTS = (5461, 5462)
# Disk left free once the copy is made, for the WAL and whatever else runs.
MIN_FREE_BYTES = 15 * 1024**3


def _ha():
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    import ha  # noqa: PLC0415 - tools/ is not a package

    return ha


def _cluster_bytes(cluster):
    return int(cluster.psql("SELECT sum(pg_database_size(datname)) FROM pg_database").strip())


@contextmanager
def standby(session, ports=STANDBY_PORTS):
    """A hot standby of the session's cluster; yields it with the session's Odoo pointed at it.

    Registries opened inside the block have Odoo's read-only pool on the
    standby, so ``session.environment(db, readonly=True)`` runs there. On
    leaving (normally or not) the session goes back to the primary alone,
    the standby cluster and its data directory are dropped and the
    replication line, if this added it, is taken out.
    """
    ha = _ha()
    # A termination request unwinds like Ctrl-C, so that the standby is dropped.
    ha.interrupt_on_sigterm()
    primary = ha.cluster_on_port(session.cfg["pgport"])
    needed = _cluster_bytes(primary)
    free = shutil.disk_usage(primary.data_dir.parent).free
    if free - needed < MIN_FREE_BYTES:
        raise BenchError(
            f"a standby of cluster {primary.version}/{primary.name} copies {needed / 1024**3:.1f} GB; "
            f"{free / 1024**3:.1f} GB are free and {MIN_FREE_BYTES / 1024**3:.0f} GB must stay free"
        )
    created = []
    added_line = False
    try:
        added_line = ha.allow_replication(primary)
        log(f"base backup of cluster {primary.version}/{primary.name} ({needed / 1024**3:.1f} GB)")
        node = ha.create_standby(primary, f"bench_standby_{session.token}", ha.free_port(ports), created)
        log(f"standby {node.version}/{node.name} streaming on 127.0.0.1:{node.port}")
        session.use_replica("127.0.0.1", node.port)
        yield Standby(ha, primary, node)
    except ha.TopologyError as exc:
        raise BenchError(str(exc)) from exc
    finally:
        session.use_replica(None, None)
        for cluster in created:
            log(f"dropping the standby cluster {cluster.version}/{cluster.name}")
            try:
                cluster.drop()
            except ha.TopologyError as exc:
                print(f"error: {exc}", file=sys.stderr)
        if added_line:
            ha.forbid_replication(primary)


class Standby:
    """The primary and its standby, as the benchmark needs them."""

    def __init__(self, ha, primary, node):
        self.ha, self.primary, self.node = ha, primary, node

    @property
    def port(self):
        return self.node.port

    def wait_replayed(self, timeout=300):
        """Wait until the standby has replayed what the primary committed so far."""
        try:
            self.ha.wait_replayed(self.primary, self.node, timeout=timeout)
        except self.ha.TopologyError as exc:
            raise BenchError(str(exc)) from exc


def server_of(cr):
    """Which server ``cr`` runs on: whether it is a standby in recovery, and its port."""
    cr.execute(SQL("SELECT pg_is_in_recovery(), inet_server_port(), current_setting('cluster_name')"))
    in_recovery, port, cluster = cr.fetchone()
    return {"in_recovery": in_recovery, "port": port, "cluster": cluster}
