"""The three addons together, on one order-to-cash flow of a salesperson."""

import json

from odoo.tests import tagged

from odoo.addons.sales_document_backup.tests.common import BackupConfigMixin
from odoo.addons.sales_document_registry.tests.common import SalesDocumentCase


@tagged("post_install", "-at_install")
class TestEndToEnd(BackupConfigMixin, SalesDocumentCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.audit_off_hours_enabled = False
        _destination, cls.backup_dir, _private, _public = cls._set_up_local_backup("e2e", "e2e", "E2E disk")

    def _commit_point(self):
        """What a real commit runs before COMMIT: flush, then the pre-commit hooks."""
        self.env.flush_all()
        self.env.cr.flush()

    def test_order_to_cash_is_registered_audited_and_journaled(self):
        tag = self.env["crm.tag"].create({"name": "Key account"})
        order = self._create_order(user=self.salesman, tag_ids=[(6, 0, tag.ids)])
        order.with_user(self.salesman).action_confirm()
        self._deliver(order)
        invoice = self._invoice(order)
        payment = self._pay(invoice)
        self._commit_point()

        # Registry: one row per document, all tagged, all linked to the order.
        rows = self.env["sales.document"].search([("sale_order_id", "=", order.id)])
        self.assertEqual(set(rows.mapped("doc_type")), {"order", "delivery", "invoice", "payment"})
        self.assertFalse(rows.filtered(lambda row: tag not in row.tag_ids), "every row carries the order's tag")
        # The salesperson sees the same chain through the registry.
        mine = self.env["sales.document"].with_user(self.salesman).search([("sale_order_id", "=", order.id)])
        self.assertEqual(mine.mapped("doc_type").count("order"), 1)

        # Audit trail: the confirmation by the salesperson, with the state change.
        Log = self.env["sales.document.audit.log"].with_context(active_test=False)
        order_logs = Log.search([("res_model", "=", "sale.order"), ("res_id", "=", order.id)])
        self.assertTrue(order_logs)
        self.assertIn(self.salesman, order_logs.mapped("user_id"))
        changes = [json.loads(log.changes or "{}") for log in order_logs]
        self.assertTrue(any("state" in (c.get("fields") or {}) for c in changes), changes)
        for record in (order.picking_ids, invoice, payment):
            self.assertTrue(Log.search_count([("res_model", "=", record._name), ("res_id", "in", record.ids)]),
                            record._name)
        Log._cron_seal()
        integrity = Log.verify_integrity(self.company.id)
        self.assertTrue(integrity["ok"], integrity)
        self.assertGreaterEqual(integrity["checked"], len(order_logs))

        # Journal: each stage snapshot goes to the destination in a chained batch,
        # with the audit checkpoint sealed above.
        Journal = self.env["sales.document.backup.journal"]
        events = {(e.res_model, e.event) for e in Journal.search([("state", "=", "queued")])}
        for expected in (("sale.order", "confirmed"), ("account.move", "posted"),
                         ("account.payment", "posted")):
            self.assertIn(expected, events)
        batch = Journal._cron_send_journal()
        self.assertEqual(batch.state, "done", batch.error)
        self.assertFalse(Journal.search([("state", "=", "queued")]))
