
from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from odoo.addons.sales_document_registry.tests.common import SalesDocumentCase

from .common import BackupConfigMixin


@tagged("post_install", "-at_install")
class TestJournalRestore(BackupConfigMixin, SalesDocumentCase):
    """Restoring single documents from the journal: as a new draft or back in place."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _destination, cls.local_dir, cls.private_path, cls.public_path = cls._set_up_local_backup(
            "main", "rdisk", "Restore disk"
        )
        cls.Journal = cls.env["sales.document.backup.journal"]
        cls.Wizard = cls.env["sales.document.backup.journal.restore"]

    def _sent_entry(self, record, event):
        self.Journal._cron_send_journal()
        entry = self.Journal.search(
            [("res_model", "=", record._name), ("res_id", "=", record.id), ("event", "=", event)],
            order="id desc", limit=1,
        )
        self.assertEqual(entry.state, "sent")
        return entry

    def _wizard(self, entry, mode):
        form = Form(self.Wizard.with_context(active_model=entry._name, active_id=entry.id))
        form.mode = mode
        return form.save()

    def _restore(self, entry, mode):
        action = self._wizard(entry, mode).action_restore()
        return self.env[action["res_model"]].browse(action["res_id"])

    @staticmethod
    def _lines(order):
        return sorted((line.product_id.id, line.product_uom_qty, line.price_unit) for line in order.order_line)

    # ------------------------------------------------------------------
    # Orders
    # ------------------------------------------------------------------

    def test_cancelled_order_restored_in_place(self):
        order = self._create_order(lines=[(self.product, 3.0), (self.product_2, 1.0)], client_order_ref="PO-IP-1")
        order.action_confirm()
        expected = self._lines(order)
        entry = self._sent_entry(order, "confirmed")
        order.with_context(disable_cancel_warning=True).action_cancel()
        # Someone reworks the cancelled quotation and damages it.
        order.action_draft()
        order.write({"order_line": [(2, order.order_line[0].id), (1, order.order_line[1].id, {"product_uom_qty": 9})],
                     "note": "scribbled over"})
        order.with_context(disable_cancel_warning=True).action_cancel()
        wizard = self._wizard(entry, "in_place")
        self.assertFalse(wizard.in_place_blocker)
        restored = self.env["sale.order"].browse(wizard.action_restore()["res_id"])
        self.assertEqual(restored, order, "back in place: the same order, not a copy")
        self.assertEqual(order.state, "draft")
        self.assertEqual(self._lines(order), expected)
        self.assertEqual(order.client_order_ref, "PO-IP-1")
        self.assertFalse(order.note and "scribbled" in str(order.note))
        self.assertIn("back in place", order.message_ids[0].body)
        self.assertIn(self.env.user.name, order.message_ids[0].body)
        self.assertEqual(
            (entry.restored_by_id, entry.restored_res_id, entry.restored_mode), (self.env.user, order.id, "in_place")
        )
        self.assertTrue(entry.restored_on)
        self.assertIn("restored", entry.backup_id.message_ids[0].body)

    def test_confirmed_order_is_not_rewritten(self):
        order = self._create_order(lines=[(self.product, 2.0)])
        order.action_confirm()
        entry = self._sent_entry(order, "confirmed")
        lines_before = self._lines(order)
        wizard = self._wizard(entry, "in_place")
        self.assertIn("confirmed order", wizard.in_place_blocker)
        with self.assertRaisesRegex(UserError, "is a confirmed order"):
            wizard.action_restore()
        self.assertEqual(order.state, "sale")
        self.assertEqual(self._lines(order), lines_before)
        self.assertFalse(entry.restored_on, "a refused restore records nothing")

    def test_order_with_live_delivery_is_not_rewritten(self):
        order = self._create_order(lines=[(self.product, 2.0)])
        order.action_confirm()
        entry = self._sent_entry(order, "confirmed")
        # Back to a quotation while its delivery is still open (written directly).
        order.write({"state": "draft"})
        wizard = self._wizard(entry, "in_place")
        self.assertIn(order.picking_ids.name, wizard.in_place_blocker)
        with self.assertRaisesRegex(UserError, "not cancelled"):
            wizard.action_restore()

    def test_archived_order_unarchived_and_rewritten(self):
        order = self._create_order(lines=[(self.product, 5.0)], client_order_ref="PO-ARCH-1")
        order._sd_archive_with_reason("Entered twice")
        entry = self._sent_entry(order, "archived")
        order.order_line.product_uom_qty = 1.0
        restored = self._restore(entry, "in_place")
        self.assertEqual(restored, order)
        self.assertTrue(order.active)
        self.assertFalse(order.archive_reason)
        self.assertEqual(order.order_line.product_uom_qty, 5.0)

    def test_deleted_order_comes_back_under_its_number(self):
        order = self._create_order(lines=[(self.product, 4.0)], client_order_ref="PO-DEL-IP")
        order._sd_archive_with_reason("Duplicate")
        name, order_id = order.name, order.id
        order._sd_unlink_with_reason("Cleaning up")
        entry = self._sent_entry(self.env["sale.order"].browse(order_id), "deleted")
        restored = self._restore(entry, "in_place")
        self.assertNotEqual(restored.id, order_id)
        self.assertEqual(restored.name, name, "back under its own number")
        self.assertEqual(restored.client_order_ref, "PO-DEL-IP")
        self.assertEqual(restored.state, "draft")
        self.assertEqual(restored.order_line.product_uom_qty, 4.0)
        # Once its number is taken again, a second in-place restore is refused.
        self.assertIn("is used by another order", self._wizard(entry, "in_place").in_place_blocker)

    # ------------------------------------------------------------------
    # Invoices
    # ------------------------------------------------------------------

    def test_invoice_back_in_place_only_when_draft(self):
        order = self._create_order(lines=[(self.product, 2.0)])
        order.action_confirm()
        self._deliver(order)
        invoice = self._invoice(order)
        entry = self._sent_entry(invoice, "posted")
        wizard = self._wizard(entry, "in_place")
        self.assertIn("is posted", wizard.in_place_blocker)
        with self.assertRaisesRegex(UserError, "is posted"):
            wizard.action_restore()
        self.assertEqual(invoice.state, "posted")
        invoice.button_draft()
        invoice.invoice_line_ids.filtered(lambda line: line.product_id == self.product).quantity = 7.0
        restored = self._restore(entry, "in_place")
        self.assertEqual(restored, invoice)
        self.assertEqual(invoice.state, "draft")
        line = invoice.invoice_line_ids.filtered(lambda line: line.product_id == self.product)
        self.assertEqual(line.quantity, 2.0)
        self.assertEqual(invoice.move_type, "out_invoice")
        invoice.button_cancel()
        self.assertIn("is cancelled", self._wizard(entry, "in_place").in_place_blocker)

    # ------------------------------------------------------------------
    # Deliveries and payments
    # ------------------------------------------------------------------

    def test_delivery_restored_as_new_draft_once_cancelled(self):
        order = self._create_order(lines=[(self.product, 3.0)])
        order.action_confirm()
        picking = order.picking_ids
        # A snapshot of the delivery as it stood (validated deliveries are journaled).
        self.Journal._enqueue(picking, "validated")
        entry = self._sent_entry(picking, "validated")
        wizard = self._wizard(entry, "draft")
        self.assertIn("ship the goods twice", wizard.draft_blocker)
        with self.assertRaisesRegex(UserError, "ship the goods twice"):
            wizard.action_restore()
        self.assertIn("only be restored as a new draft", self._wizard(entry, "in_place").in_place_blocker)
        picking.action_cancel()
        restored = self._restore(entry, "draft")
        self.assertNotEqual(restored, picking)
        self.assertEqual(restored.state, "draft")
        self.assertEqual(restored.picking_type_id, picking.picking_type_id)
        self.assertEqual(restored.sale_id, order, "the new delivery belongs to the order")
        self.assertEqual(restored.move_ids.product_id, self.product)
        self.assertEqual(restored.move_ids.product_uom_qty, 3.0)
        self.assertEqual(restored.move_ids.sale_line_id, order.order_line)
        self.assertIn("Restored from the document journal", restored.message_ids[0].body)

    def test_payment_restored_as_new_draft(self):
        _order, _invoice, payment = self._full_flow()
        entry = self._sent_entry(payment, "posted")
        state_before = payment.state
        self.assertIn("only be restored as a new draft", self._wizard(entry, "in_place").in_place_blocker)
        restored = self._restore(entry, "draft")
        self.assertNotEqual(restored, payment)
        self.assertEqual(restored.state, "draft")
        self.assertEqual(
            (restored.partner_id, restored.amount, restored.journal_id, restored.payment_type, restored.partner_type),
            (payment.partner_id, payment.amount, payment.journal_id, "inbound", "customer"),
        )
        self.assertEqual(payment.state, state_before, "the original is untouched")
        self.assertEqual(entry.restored_mode, "draft")
