"""Full backups in their own process: real runner, real pg_dump, committed data.

The runner reads the backup record through its own database connection, so
these tests create what it needs in separate, committed transactions and
remove it afterwards; they never touch the test transaction.
"""

import os
import shutil
import signal
import tempfile
import time
from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from odoo.addons.sales_document_registry.tests.common import CommittedDataMixin

from .. import runner
from .common import BackupConfigMixin, key_pair

# Real pg_dump, then the pipe stays open a moment: the runner is seen in
# its "dump" step with bytes written.
SLOW_REAL_DUMP = """#!/bin/sh
"{pg_dump}" "$@"
status=$?
sleep {pause}
exit $status
"""
# Writes part of a dump, then hangs until killed.
HANGING_DUMP = """#!/bin/sh
head -c 300000 /dev/urandom
exec sleep 120
"""
TIMEOUT = 240


@tagged("post_install", "-at_install")
class TestDetachedBackup(CommittedDataMixin, BackupConfigMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.private_path, cls.public_path = key_pair("main")
        cls.scripts_dir = tempfile.mkdtemp(prefix="sdb-detached-scripts-")
        cls.addClassCleanup(shutil.rmtree, cls.scripts_dir, True)
        cls._set_backup_options(
            detached="1", public_key=cls.public_path, private_key=cls.private_path, heartbeat_interval="0.3",
            allowed_roots=tempfile.gettempdir(),
        )

    def setUp(self):
        super().setUp()
        self.local_dir = tempfile.mkdtemp(prefix="sdb-detached-")
        self.addCleanup(shutil.rmtree, self.local_dir, True)
        with self._committed() as env:
            self.destination_id = env["sales.document.backup.destination"].create(
                {"name": "Detached disk", "code": "detached_disk", "kind": "local", "path": self.local_dir}
            ).id
        self._cleanup_committed(self._remove_committed)

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    def _read(self, backup_id, *names):
        with self._committed() as env:
            backup = env["sales.document.backup"].browse(backup_id)
            return {name: backup[name] for name in names}

    def _start(self):
        """Start a detached backup; the runner is spawned when the cursor commits."""
        with self._committed() as env:
            action = env["sales.document.backup.destination"].browse(self.destination_id).action_backup_now()
            backup = self._action_record(env, action)
            self.assertEqual(backup.state, "running", "the backup is handed back while it runs")
            self.assertFalse(backup.pid, "nothing runs before the record is committed")
            backup_id = backup.id
        values = self._read(backup_id, "pid", "host")
        self.assertTrue(values["pid"], "the process id is recorded once it is started")
        self.assertNotEqual(values["pid"], os.getpid())
        self.addCleanup(self._kill_quietly, values["pid"])
        return backup_id, values["pid"]

    def _wait(self, backup_id, condition, what, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            values = self._read(
                backup_id, "state", "progress", "progress_step", "progress_bytes", "heartbeat", "work_path", "error"
            )
            seen.append(values)
            if condition(values):
                return values, seen
            time.sleep(0.15)
        self.fail(f"timed out waiting for {what}; last values: {seen[-1] if seen else None}")

    def _wait_process_gone(self, pid, backup_id):
        deadline = time.monotonic() + 30
        while runner.process_alive(pid, backup_id):
            self.assertLess(time.monotonic(), deadline, "the runner process should be gone")
            time.sleep(0.1)

    def _kill_quietly(self, pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass

    def _fake_pg_dump(self, text):
        path = os.path.join(self.scripts_dir, f"pg_dump-{time.monotonic_ns()}")
        with open(path, "w") as handle:
            handle.write(text)
        os.chmod(path, 0o755)
        self._set_option("pg_dump", path)

    def _files(self, directory):
        return [os.path.join(root, name) for root, _dirs, names in os.walk(directory) for name in names]

    def _remove_committed(self, env):
        backups = env["sales.document.backup"].search([("target_destination_ids", "in", self.destination_id)])
        backups.restore_test_ids.unlink()
        backups.unlink()
        env["sales.document.backup.destination"].browse(self.destination_id).unlink()

    # ------------------------------------------------------------------
    # Tests
    # ------------------------------------------------------------------

    def test_detached_backup_reports_progress_and_is_restorable(self):
        self._fake_pg_dump(SLOW_REAL_DUMP.format(pg_dump=shutil.which("pg_dump"), pause=2))
        backup_id, pid = self._start()
        dumping, _seen = self._wait(
            backup_id, lambda v: v["progress_step"] == "dump" and v["progress_bytes"] > 0, "the dump step"
        )
        self.assertEqual(dumping["state"], "running")
        self.assertTrue(dumping["heartbeat"])
        self.assertTrue(os.path.exists(dumping["work_path"]), "the archive is being written in the work directory")
        final, seen = self._wait(backup_id, lambda v: v["state"] != "running", "the end of the backup")
        self.assertEqual(final["state"], "done", final["error"])
        self.assertEqual(final["progress"], 100.0)
        self.assertEqual(final["progress_step"], "done")
        percents = [v["progress"] for v in seen if v["state"] == "running"]
        self.assertEqual(percents, sorted(percents), "progress never goes back")
        self.assertFalse(os.path.exists(final["work_path"]), "the work file is removed")
        self._wait_process_gone(pid, backup_id)
        with self._committed() as env:
            backup = env["sales.document.backup"].browse(backup_id)
            self.assertEqual(backup.copy_ids.mapped("state"), ["done"])
            self.assertEqual(backup.progress_bytes, backup.size)
            self.assertEqual(len(self._files(self.local_dir)), 1)
            test = self._action_record(env, backup.action_restore_test())
            self.assertEqual(test.state, "passed", test.report)

    def test_killed_runner_is_failed_by_the_watchdog(self):
        self._fake_pg_dump(HANGING_DUMP)
        backup_id, pid = self._start()
        values, _seen = self._wait(backup_id, lambda v: v["progress_bytes"] > 0, "the first bytes of the dump")
        self.assertTrue(os.path.exists(values["work_path"]))
        with self._committed() as env:
            self.assertFalse(env["sales.document.backup"]._cron_check_running(), "a live backup is left alone")
        os.killpg(pid, signal.SIGKILL)  # the runner and its pg_dump, as the OOM killer would
        self._wait_process_gone(pid, backup_id)
        self.assertEqual(self._read(backup_id, "state")["state"], "running", "nobody else reported the kill")
        with self._committed() as env:
            lost = env["sales.document.backup"]._cron_check_running()
            self.assertEqual(lost.ids, [backup_id])
            backup = lost
            self.assertEqual(backup.state, "failed")
            self.assertIn(f"PID {pid}", backup.error)
            self.assertIn("killed or crashed", backup.error)
            self.assertTrue(
                backup.activity_ids.filtered(lambda a: a.summary == "Backup failed"),
                "the backup administrators are alerted",
            )
        self.assertFalse(os.path.exists(values["work_path"]), "the partial archive is removed")
        self.assertFalse(self._files(self.local_dir), "nothing partial is left on the destination")
        with self._committed() as env:
            self.assertFalse(env["sales.document.backup"]._cron_check_running(), "failed once, not twice")

    def test_terminated_runner_fails_and_cleans_up_itself(self):
        self._fake_pg_dump(HANGING_DUMP)
        backup_id, pid = self._start()
        values, _seen = self._wait(backup_id, lambda v: v["progress_bytes"] > 0, "the first bytes of the dump")
        os.kill(pid, signal.SIGTERM)
        final, _seen = self._wait(backup_id, lambda v: v["state"] != "running", "the runner to give up")
        self.assertEqual(final["state"], "failed")
        self.assertIn("stopped by signal 15", final["error"])
        self._wait_process_gone(pid, backup_id)
        self.assertFalse(os.path.exists(values["work_path"]))
        self.assertFalse(self._files(self.local_dir))

    def test_runner_that_cannot_start_fails_the_backup(self):
        self._set_option("python", os.path.join(self.scripts_dir, "no-such-python"))
        with self._committed() as env:
            backup_id = env["sales.document.backup.destination"].browse(self.destination_id).action_backup_now()["res_id"]
        values = self._read(backup_id, "state", "error")
        self.assertEqual(values["state"], "failed")
        self.assertIn("could not be started", values["error"])

    def test_second_backup_refused_while_one_runs(self):
        self._fake_pg_dump(HANGING_DUMP)
        backup_id, pid = self._start()
        with self._committed() as env, self.assertRaisesRegex(UserError, "already running"):
            env["sales.document.backup.destination"].browse(self.destination_id).action_backup_now()
        os.killpg(pid, signal.SIGKILL)
        self._wait_process_gone(pid, backup_id)
        with self._committed() as env:
            env["sales.document.backup"]._cron_check_running()


@tagged("post_install", "-at_install")
class TestWatchdog(TransactionCase):
    """The watchdog's verdicts on records alone (no process involved)."""

    def _running(self, **values):
        return self.env["sales.document.backup"].create(dict({
            "name": "Lost backup", "kind": "full", "state": "running",
            "date": fields.Datetime.now() - timedelta(hours=2),
        }, **values))

    def test_silent_backup_on_another_host_is_failed(self):
        backup = self._running(pid=4242, host="another-host", heartbeat=fields.Datetime.now() - timedelta(hours=1))
        fresh = self._running(pid=4243, host="another-host", heartbeat=fields.Datetime.now())
        lost = self.env["sales.document.backup"]._cron_check_running()
        self.assertEqual(lost, backup)
        self.assertEqual(backup.state, "failed")
        self.assertIn("no sign of life for 60 minutes", backup.error)
        self.assertEqual(fresh.state, "running", "another host's process cannot be checked; its heartbeat is fresh")

    def test_backup_whose_process_id_is_not_a_runner_is_failed(self):
        import socket

        # This test process is alive, but it is no backup runner.
        backup = self._running(pid=os.getpid(), host=socket.gethostname(), heartbeat=fields.Datetime.now())
        lost = self.env["sales.document.backup"]._cron_check_running()
        self.assertEqual(lost, backup)
        self.assertIn("killed or crashed", backup.error)


@tagged("post_install", "-at_install")
class TestProgressDisplay(TransactionCase):
    def test_running_backup_progress_on_form_and_dashboard(self):
        Backup = self.env["sales.document.backup"]
        verified = Backup.create({
            "name": "Verified", "kind": "full", "state": "done", "date": fields.Datetime.now() - timedelta(hours=5),
        })
        self.env["sales.document.backup.restore.test"].create({"backup_id": verified.id, "state": "passed"})
        running = Backup.create({
            "name": "Running", "kind": "full", "state": "running", "progress": 42.4, "progress_step": "dump",
            "progress_bytes": 3 * 1024 * 1024,
        })
        self.assertEqual(running.progress_display, "Dumping the database: 42%, 3.0 MB written")
        dashboard = self.env["sales.document.backup.dashboard"].search([("company_id", "=", self.env.company.id)])
        self.assertEqual(dashboard.running_backup_id, running)
        self.assertEqual(dashboard.running_progress, 42.4)
        self.assertEqual(dashboard.status, "warning")
        self.assertIn("Dumping the database: 42%", dashboard.status_message)
        running.write({"state": "done", "progress": 100.0, "progress_step": "done"})
        self.assertFalse(running.progress_display)
