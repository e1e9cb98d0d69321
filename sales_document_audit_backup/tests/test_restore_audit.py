"""A restore from the backup journal leaves an explicit row in the audit trail."""

import json

from odoo.tests import tagged

from odoo.addons.sales_document_backup.tests.common import BackupConfigMixin
from odoo.addons.sales_document_registry.tests.common import SalesDocumentCase


@tagged("post_install", "-at_install")
class TestBackupRestoreAudit(BackupConfigMixin, SalesDocumentCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.audit_off_hours_enabled = False
        _destination, cls.backup_dir, _private, _public = cls._set_up_local_backup(
            "restore-audit", "audit_disk", "Audit disk"
        )
        cls.Journal = cls.env["sales.document.backup.journal"]
        cls.Log = cls.env["sales.document.audit.log"].with_context(active_test=False)

    def _commit_point(self):
        """What a real commit runs before COMMIT: flush, then the pre-commit hooks."""
        self.env.flush_all()
        self.env.cr.flush()

    def _sent_entry(self, order, event):
        self.Journal._cron_send_journal()
        return self.Journal.search(
            [("res_model", "=", "sale.order"), ("res_id", "=", order.id), ("event", "=", event)], limit=1
        )

    def _restore(self, entry, mode):
        wizard = self.env["sales.document.backup.journal.restore"].create({"journal_id": entry.id, "mode": mode})
        return self.env["sale.order"].browse(wizard.action_restore()["res_id"])

    def _restore_rows(self, order):
        rows = self.Log.search([("res_model", "=", "sale.order"), ("res_id", "=", order.id)], order="id")
        return [(row, json.loads(row.changes)) for row in rows if "restored_from" in json.loads(row.changes or "{}")]

    def test_restore_as_new_draft_is_audited(self):
        order = self._create_order(lines=[(self.product, 2.0), (self.product_2, 1.0)])
        order.action_confirm()
        entry = self._sent_entry(order, "confirmed")
        self._commit_point()
        restored = self._restore(entry, "draft")
        self._commit_point()
        rows = self._restore_rows(restored)
        self.assertEqual(len(rows), 1, "one audit row says where the document came from")
        row, changes = rows[0]
        self.assertEqual(row.operation, "create")
        self.assertEqual(row.user_id, self.env.user)
        self.assertEqual(changes["restored_from"]["journal_entry_id"], entry.id)
        self.assertEqual(changes["restored_from"]["snapshot_sha256"], entry.sha256)
        self.assertEqual(changes["restored_from"]["mode"], "draft")
        self.assertEqual(changes["fields"]["partner_id"][1][0], self.customer.id)
        self.assertEqual(len(changes["lines"]), 2)
        self.assertIn("restored_from", row.changes_html)
        self.assertFalse(self._restore_rows(order), "the original's own rows say nothing of the restore")
        self.Log._cron_seal()
        self.assertTrue(self.Log.verify_integrity(self.company.id)["ok"])

    def test_restore_in_place_is_audited(self):
        order = self._create_order(lines=[(self.product, 3.0)])
        order.action_confirm()
        entry = self._sent_entry(order, "confirmed")
        order.with_context(disable_cancel_warning=True).action_cancel()
        order.action_draft()
        order.order_line.product_uom_qty = 8.0
        order.with_context(disable_cancel_warning=True).action_cancel()
        self._commit_point()
        restored = self._restore(entry, "in_place")
        self.assertEqual(restored, order)
        self._commit_point()
        rows = self._restore_rows(order)
        self.assertEqual(len(rows), 1)
        row, changes = rows[0]
        self.assertEqual(row.operation, "write")
        self.assertEqual(changes["restored_from"]["journal_entry_id"], entry.id)
        self.assertEqual(changes["restored_from"]["mode"], "in_place")
        self.assertEqual(changes["fields"]["state"], ["cancel", "draft"])
        line_ops = sorted(line["operation"] for line in changes["lines"])
        self.assertEqual(line_ops, ["create", "unlink"], "the damaged line went, the snapshot's came back")
        self.assertEqual(entry.restored_res_id, order.id)
