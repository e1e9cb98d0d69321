"""Sealed audit checkpoints travel with the journal batches and the full backups."""

import json
import tempfile

from odoo.tests import tagged

from odoo.addons.sales_document_backup.lib import archive, crypto
from odoo.addons.sales_document_backup.tests.common import BackupConfigMixin
from odoo.addons.sales_document_registry.tests.common import SalesDocumentCase

from ..models.sales_document_backup_journal import CHECKPOINT_MEMBER


@tagged("post_install", "-at_install")
class TestCheckpointsInBackups(BackupConfigMixin, SalesDocumentCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.audit_off_hours_enabled = False
        cls.destination, _directory, cls.private_path, _public = cls._set_up_local_backup(
            "audit-backup", "ab_disk", "Checkpoint disk", detached="0"
        )
        cls.Journal = cls.env["sales.document.backup.journal"]
        cls.Log = cls.env["sales.document.audit.log"]

    def _seal_new_checkpoint(self, confirm=True):
        """Create an order (confirmed: journaled too), run what a commit runs,
        seal: the company's new checkpoint."""
        order = self._create_order()
        if confirm:
            order.action_confirm()
        self.env.flush_all()
        self.env.cr.flush()
        checkpoints = self.Log._cron_seal().filtered(lambda cp: cp.company_id == self.company)
        self.assertTrue(checkpoints, "confirming an order gives the company rows to seal")
        return checkpoints[-1:]

    def _archive_members(self, backup):
        """{member name: bytes} of a backup archive, read back from its destination."""
        private_key = crypto.load_private_key(self.private_path)
        members = {}
        with tempfile.TemporaryDirectory() as tmp:
            path, _errors = backup._download(tmp)
            with open(path, "rb") as handle:
                for name, blocks in archive.ArchiveReader(crypto.DecryptingReader(handle, private_key)):
                    members[name] = b"".join(blocks)
        return members

    def test_journal_batch_carries_new_checkpoints_once(self):
        checkpoint = self._seal_new_checkpoint()
        batch = self.Journal._cron_send_journal().filtered(lambda b: b.company_id == self.company)
        self.assertEqual(batch.state, "done", batch.error)
        members = self._archive_members(batch)
        self.assertIn(CHECKPOINT_MEMBER, set(members))
        sent = json.loads(members[CHECKPOINT_MEMBER])["checkpoints"]
        self.assertTrue(sent)
        self.assertEqual({cp["company_id"] for cp in sent}, {self.company.id})
        self.assertIn((checkpoint.id, checkpoint.hash), {(cp["id"], cp["hash"]) for cp in sent})

        # Nothing new sealed: the next batch (of a new snapshot) does not repeat them.
        order = self._create_order()
        order.action_confirm()
        entry = self.Journal.search([("res_model", "=", "sale.order"), ("res_id", "=", order.id)])
        self.assertTrue(entry)
        next_batch = self.Journal._send_batch(self.company)
        self.assertEqual(next_batch.state, "done", next_batch.error)
        self.assertNotIn(CHECKPOINT_MEMBER, set(self._archive_members(next_batch)))

        # A checkpoint sealed later goes in the next batch, even without a snapshot to send.
        later = self._seal_new_checkpoint(confirm=False)
        self.assertFalse(self.Journal.search([("state", "=", "queued"), ("company_id", "=", self.company.id)]))
        last_batch = self.Journal._cron_send_journal().filtered(lambda b: b.company_id == self.company)
        self.assertEqual(last_batch.state, "done", last_batch.error)
        ids = {cp["id"] for cp in json.loads(self._archive_members(last_batch)[CHECKPOINT_MEMBER])["checkpoints"]}
        self.assertIn(later.id, ids)
        self.assertNotIn(checkpoint.id, ids)

    def test_full_backup_manifest_holds_latest_checkpoint(self):
        checkpoint = self._seal_new_checkpoint()
        backup = self.env["sales.document.backup"]._run_full_backup(self.destination)
        self.assertEqual(backup.state, "done", backup.error)
        recorded = json.loads(backup.manifest)["audit_checkpoint"]
        self.assertEqual(recorded["format"], "sales_document_audit.checkpoints/1")
        latest = recorded["latest"][str(self.company.id)]
        self.assertEqual((latest["id"], latest["hash"]), (checkpoint.id, checkpoint.hash))
