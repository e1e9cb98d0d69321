import os
import shutil
import tempfile
from datetime import datetime, timedelta

from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestRetention(TransactionCase):
    def test_retention_never_deletes_last_verified_backup(self):
        directory = tempfile.mkdtemp(prefix="sdb-retention-")
        self.addCleanup(shutil.rmtree, directory, True)
        destination = self.env["sales.document.backup.destination"].create({
            "name": "Disk", "code": "disk", "kind": "local", "path": directory,
            "retention_daily": 2, "retention_weekly": 0, "retention_monthly": 0,
        })
        Backup = self.env["sales.document.backup"]
        start = datetime(2026, 3, 1, 3, 0)
        backups = Backup
        for day in range(6):
            backup = Backup.create({
                "name": f"b{day}", "kind": "full", "state": "done", "date": start + timedelta(days=day),
            })
            name = f"full/b{day}.sdb"
            with open(os.path.join(directory, f"b{day}.sdb"), "wb") as handle:
                handle.write(b"x")
            os.makedirs(os.path.join(directory, "full"), exist_ok=True)
            os.replace(os.path.join(directory, f"b{day}.sdb"), os.path.join(directory, name))
            self.env["sales.document.backup.copy"].create({
                "backup_id": backup.id, "destination_id": destination.id, "object_name": name, "state": "done",
            })
            backups |= backup
        # The second backup passed a restore test: it must survive.
        self.env["sales.document.backup.restore.test"].create({"backup_id": backups[1].id, "state": "passed"})
        deleted = destination._apply_retention()
        kept_names = sorted(os.listdir(os.path.join(directory, "full")))
        self.assertEqual(kept_names, ["b1.sdb", "b4.sdb", "b5.sdb"])
        self.assertEqual(sorted(deleted.backup_id.mapped("name")), ["b0", "b2", "b3"])
        self.assertEqual(set(deleted.mapped("state")), {"deleted"})


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
