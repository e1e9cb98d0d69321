import json
import shutil
import tempfile

from odoo.exceptions import UserError
from odoo.sql_db import db_connect
from odoo.tests import Form, tagged

from odoo.addons.sales_document_registry.tests.common import SalesDocumentCase

from ..lib import manifest
from ..models.sales_document_backup_journal import SEND_LOCK
from .common import BackupConfigMixin, MotoS3, key_pair


@tagged("post_install", "-at_install")
class TestDocumentJournal(BackupConfigMixin, SalesDocumentCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.private_path, cls.public_path = key_pair("main")
        cls.s3 = MotoS3().start()
        cls.addClassCleanup(cls.s3.stop)
        cls.s3.create_bucket("sdb-journal")
        cls.local_dir = tempfile.mkdtemp(prefix="sdb-journal-")
        cls.addClassCleanup(shutil.rmtree, cls.local_dir, True)
        cls._set_backup_options(
            public_key=cls.public_path, private_key=cls.private_path, allowed_roots=tempfile.gettempdir(),
            **{
                cls._s3_option(cls.env.company, "jr", "access_key"): cls.s3.access_key,
                cls._s3_option(cls.env.company, "jr", "secret_key"): cls.s3.secret_key,
            },
        )
        Destination = cls.env["sales.document.backup.destination"]
        cls.destinations = Destination.create([
            {"name": "Journal disk", "code": "jdisk", "kind": "local", "path": cls.local_dir},
            {"name": "Journal S3", "code": "jr", "kind": "s3", "bucket": "sdb-journal",
             "endpoint_url": cls.s3.endpoint_url},
        ])
        cls.Journal = cls.env["sales.document.backup.journal"]

    def _entries(self, record):
        return self.Journal.search([("res_model", "=", record._name), ("res_id", "=", record.id)], order="id")

    def test_order_to_cash_events_are_journaled_and_sent_chained(self):
        order, invoice, payment = self._full_flow()
        self.assertEqual(self._entries(order).mapped("event"), ["confirmed"])
        self.assertIn("validated", self._entries(order.picking_ids).mapped("event"))
        self.assertIn("posted", self._entries(invoice).mapped("event"))
        self.assertIn("paid", self._entries(invoice).mapped("event"))
        self.assertEqual(self._entries(payment).mapped("event"), ["posted"])
        snapshot = json.loads(self._entries(order).snapshot)
        self.assertEqual(snapshot["fields"]["name"], order.name)
        self.assertEqual(len(snapshot["lines"]), len(order.order_line))
        self.assertEqual(self._entries(order).sha256, manifest.sha256_bytes(self._entries(order).snapshot.encode()))

        batch = self.Journal._cron_send_journal()
        self.assertEqual(batch.kind, "journal")
        self.assertEqual(batch.state, "done", batch.error)
        self.assertEqual(sorted(batch.copy_ids.mapped("state")), ["done", "done"])
        sent = batch.journal_entry_ids.sorted("sequence")
        self.assertFalse(self.Journal.search([("state", "=", "queued")]))
        links = json.loads(batch.manifest)
        self.assertTrue(manifest.verify_chain(links, sent[0].prev_hash)["ok"])
        self.assertEqual(sent[-1].entry_hash, links[-1]["hash"])
        # The printed form travels with the snapshot and is chained too
        # (HTML in tests, where Odoo does not run wkhtmltopdf).
        # (Entries committed by other tests may travel in the same batch.)
        order_link = next(
            link for link in links if link["res_model"] == "sale.order" and link["res_id"] == order.id
        )
        self.assertEqual(order_link["printed_format"], "html")
        self.assertEqual(len(order_link["printed_sha256"]), 64)

        # The next batch continues the chain.
        order_2 = self._create_order()
        order_2.action_confirm()
        batch_2 = self.Journal._cron_send_journal()
        entry_2 = self._entries(order_2)
        self.assertEqual(entry_2.prev_hash, sent[-1].entry_hash)
        self.assertEqual(entry_2.sequence, sent[-1].sequence + 1)
        self.assertEqual(batch_2.state, "done")

    def test_one_sender_per_company_when_several_servers_run_the_job(self):
        """While another server's transaction sends a company's journal, this one skips it."""
        order = self._create_order()
        order.action_confirm()
        self.env.flush_all()
        with db_connect(self.env.cr.dbname).cursor() as other:
            other.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SEND_LOCK, self.env.company.id])
            self.assertFalse(self.Journal._cron_send_journal(), "no second batch while another sender works")
            self.assertEqual(self._entries(order).state, "queued")
            other.rollback()
        batch = self.Journal._cron_send_journal()
        self.assertEqual(batch.state, "done", batch.error)
        self.assertEqual(self._entries(order).state, "sent")

    def test_salesperson_confirmation_is_journaled(self):
        """A salesperson without any backup right still gets the order journaled."""
        self.assertFalse(self.salesman.has_group("sales_document_backup.group_backup_user"))
        order = self._create_order(user=self.salesman)
        order.with_user(self.salesman).action_confirm()
        entry = self._entries(order)
        self.assertEqual(entry.event, "confirmed")
        self.assertEqual(json.loads(entry.snapshot)["fields"]["user_id"], self.salesman.id)

    def test_restore_order_as_new_draft(self):
        order = self._create_order(lines=[(self.product, 3.0), (self.product_2, 1.0)], client_order_ref="PO-778")
        order.action_confirm()
        self.Journal._cron_send_journal()
        entry = self._entries(order)
        self.assertEqual(entry.state, "sent")
        expected_lines = sorted((line.product_id.id, line.product_uom_qty, line.price_unit) for line in order.order_line)
        wizard = Form(self.env["sales.document.backup.journal.restore"].with_context(
            active_model=entry._name, active_id=entry.id))
        action = wizard.save().action_restore()
        restored = self.env["sale.order"].browse(action["res_id"])
        self.assertNotEqual(restored, order)
        self.assertEqual(restored.state, "draft")
        self.assertEqual(restored.partner_id, order.partner_id)
        # The original still exists: its customer reference is not duplicated.
        self.assertFalse(restored.client_order_ref)
        self.assertEqual(
            sorted((line.product_id.id, line.product_uom_qty, line.price_unit) for line in restored.order_line),
            expected_lines,
        )
        self.assertIn("Restored from the document journal (as a new draft)", restored.message_ids[0].body)

    def test_archived_then_deleted_order_restored_from_journal(self):
        order = self._create_order(lines=[(self.product, 4.0)], client_order_ref="PO-DEL-1")
        order._sd_archive_with_reason("Duplicate entry")
        self.assertEqual(self._entries(order).mapped("event"), ["archived"])
        order_id, name = order.id, order.name
        order._sd_unlink_with_reason("Cleaning up")
        entries = self.Journal.search([("res_model", "=", "sale.order"), ("res_id", "=", order_id)], order="id")
        self.assertEqual(entries.mapped("event"), ["archived", "deleted"])
        self.Journal._cron_send_journal()
        deleted_entry = entries[-1]
        self.assertEqual(deleted_entry.state, "sent")
        wizard = self.env["sales.document.backup.journal.restore"].create({"journal_id": deleted_entry.id})
        restored = self.env["sale.order"].browse(wizard.action_restore()["res_id"])
        self.assertEqual(restored.state, "draft")
        self.assertNotEqual(restored.name, name)
        # The original is gone, so its customer reference comes back too.
        self.assertEqual(restored.client_order_ref, "PO-DEL-1")
        self.assertEqual(restored.order_line.product_id, self.product)
        self.assertEqual(restored.order_line.product_uom_qty, 4.0)

    def test_restore_refuses_tampered_or_unreadable_journal(self):
        order = self._create_order()
        order.action_confirm()
        self.Journal._cron_send_journal()
        entry = self._entries(order)
        wizard = self.env["sales.document.backup.journal.restore"].create({"journal_id": entry.id})
        # The recorded chain hash no longer matches what the destinations hold.
        entry.entry_hash = "f" * 64
        with self.assertRaisesRegex(UserError, "chain is broken"):
            wizard.action_restore()
        self._set_option("private_key", key_pair("other")[0])
        with self.assertRaisesRegex(UserError, "another key"):
            wizard.action_restore()

    def test_failed_batch_keeps_entries_queued(self):
        order = self._create_order()
        order.action_confirm()
        self._set_option("public_key", "")
        batch = self.Journal._cron_send_journal()
        self.assertEqual(batch.state, "failed")
        self.assertIn("No public key", batch.error)
        entry = self._entries(order)
        self.assertEqual(entry.state, "queued", "the entry is retried by the next run")
        self.assertFalse(entry.entry_hash)
