import os
import shutil
import tempfile
from datetime import datetime, timedelta

from odoo.tests import TransactionCase, tagged

from .common import BackupConfigMixin


@tagged("post_install", "-at_install")
class TestRetention(BackupConfigMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._set_backup_options(allowed_roots=tempfile.gettempdir())

    def setUp(self):
        super().setUp()
        self.directory = tempfile.mkdtemp(prefix="sdb-retention-")
        self.addCleanup(shutil.rmtree, self.directory, True)
        self.destination = self.env["sales.document.backup.destination"].create({
            "name": "Disk", "code": "disk", "kind": "local", "path": self.directory,
            "retention_daily": 2, "retention_weekly": 0, "retention_monthly": 0,
        })

    def _backups(self, count):
        """``count`` daily full backups, each with its object written on the destination."""
        Backup = self.env["sales.document.backup"]
        location = self.destination._get_storage().describe()
        start = datetime(2026, 3, 1, 3, 0)
        backups = Backup
        for day in range(count):
            backup = Backup.create({
                "name": f"b{day}", "kind": "full", "state": "done", "date": start + timedelta(days=day),
            })
            name = backup._get_own_object_name()
            self._write(name)
            self.env["sales.document.backup.copy"].create({
                "backup_id": backup.id, "destination_id": self.destination.id, "object_name": name,
                "location": location, "state": "done",
            })
            backups |= backup
        return backups

    def _write(self, name, directory=None):
        path = os.path.join(directory or self.directory, *name.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(b"x")
        return path

    def test_retention_never_deletes_last_verified_backup(self):
        backups = self._backups(6)
        # The second backup passed a restore test: it must survive.
        self.env["sales.document.backup.restore.test"].create({"backup_id": backups[1].id, "state": "passed"})
        deleted = self.destination._apply_retention()
        kept = [b for b in backups if os.path.exists(os.path.join(self.directory, b._get_own_object_name()))]
        self.assertEqual([b.name for b in kept], ["b1", "b4", "b5"])
        self.assertEqual(sorted(deleted.backup_id.mapped("name")), ["b0", "b2", "b3"])
        self.assertEqual(set(deleted.mapped("state")), {"deleted"})

    def test_retention_deletes_only_what_this_addon_wrote_where_it_wrote_it(self):
        backups = self._backups(4)
        copies = backups.copy_ids
        # A copy whose name is not the one its backup writes (an older record,
        # or a row edited in the database) points at a file the addon did not write.
        planted = self._write(f"full/{self.env.cr.dbname}/20260301T030000-999999.sdb")
        foreign = copies.filtered(lambda c: c.backup_id == backups[0])
        foreign.object_name = os.path.relpath(planted, self.directory)
        deleted = self.destination._apply_retention()
        self.assertTrue(os.path.exists(planted), "a file this backup did not write is never deleted")
        self.assertEqual(foreign.state, "done")
        self.assertIn("is not the name this backup writes", foreign.error)
        self.assertEqual(deleted.backup_id, backups[1])

    def test_retention_keeps_objects_when_the_destination_moved(self):
        backups = self._backups(3)
        # The destination now points to another directory holding files of the same names.
        elsewhere = tempfile.mkdtemp(prefix="sdb-retention-moved-")
        self.addCleanup(shutil.rmtree, elsewhere, True)
        same_names = [self._write(b._get_own_object_name(), elsewhere) for b in backups]
        self.destination.path = elsewhere
        deleted = self.destination._apply_retention()
        self.assertFalse(deleted)
        self.assertEqual(len(same_names), 3)
        self.assertTrue(all(os.path.exists(path) for path in same_names))
        expired = backups[0].copy_ids
        self.assertIn("no longer points where", expired.error)


@tagged("post_install", "-at_install")
class TestRestoreTestReport(TransactionCase):
    def test_report_prints(self):
        backup = self.env["sales.document.backup"].create({"name": "Printed", "kind": "full", "state": "done"})
        test = self.env["sales.document.backup.restore.test"].create({
            "backup_id": backup.id, "state": "failed", "report": "FAILED: order: count expected 3, found 2",
        })
        html, _kind = self.env["ir.actions.report"]._render_qweb_html(
            "sales_document_backup.restore_test_report_document", test.ids
        )
        self.assertIn(b"FAILED: order: count expected 3, found 2", html)
        self.assertIn(b"Restore test of Printed", html)
