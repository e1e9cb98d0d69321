from odoo import Command
from odoo.tests import tagged

from .common import AuditCase


@tagged("post_install", "-at_install")
class TestAuditCapture(AuditCase):
    def test_create_is_one_row_per_document_with_its_lines(self):
        order = self._create_order([(self.product, 2.0), (self.product_2, 1.0)])
        self._commit_point()
        logs = self._logs(order)
        self.assertEqual(len(logs), 1, "one row per document per transaction")
        self.assertEqual(logs.operation, "create")
        self.assertEqual(logs.user_id, self.env.user)
        self.assertEqual(logs.company_id, self.company)
        changes = self._changes(logs)
        self.assertEqual(changes["fields"]["partner_id"][1][0], self.customer.id)
        self.assertEqual(changes["fields"]["partner_id"][1][1], self.customer.display_name)
        self.assertEqual(len(changes["lines"]), 2)
        self.assertEqual({line["operation"] for line in changes["lines"]}, {"create"})
        self.assertFalse(self._logs(order.order_line), "lines roll up to the order")

    def test_write_records_old_and_new_values_once_per_transaction(self):
        order = self._create_order()
        self._commit_point()
        order.client_order_ref = "PO-1"
        order.client_order_ref = "PO-2"
        order.order_line.product_uom_qty = 5
        self._commit_point()
        logs = self._logs(order, "write")
        self.assertEqual(len(logs), 1)
        changes = self._changes(logs)
        self.assertEqual(changes["fields"]["client_order_ref"], [False, "PO-2"])
        self.assertGreater(changes["fields"]["amount_total"][1], changes["fields"]["amount_total"][0])
        line = changes["lines"][0]
        self.assertEqual(line["operation"], "write")
        self.assertEqual(line["fields"]["product_uom_qty"], [2.0, 5.0])

    def test_noop_write_and_unaudited_fields_leave_no_row(self):
        order = self._create_order()
        self._commit_point()
        order.client_order_ref = order.client_order_ref
        order.write({"origin": "not audited"})
        self._commit_point()
        self.assertFalse(self._logs(order, "write"))

    def test_state_change_and_unlink(self):
        order = self._create_order()
        self._commit_point()
        order.action_cancel()
        self._commit_point()
        log = self._logs(order, "write")
        self.assertEqual(self._changes(log)["fields"]["state"], ["draft", "cancel"])
        order.order_line[:1].unlink()
        self._commit_point()
        log = self._logs(order, "write")[-1]
        self.assertEqual(self._changes(log)["lines"][0]["operation"], "unlink")
        self.assertEqual(self._changes(log)["lines"][0]["fields"]["product_id"][0][0], self.product.id)

    def test_unlink_of_a_draft_invoice(self):
        order = self._create_order()
        order.action_confirm()
        self._deliver(order)
        invoice = self._invoice(order, post=False)
        self._commit_point()
        invoice_id, invoice_name = invoice.id, invoice.display_name
        invoice.unlink()
        self._commit_point()
        log = self.Log.search([("res_model", "=", "account.move"), ("res_id", "=", invoice_id)], order="id desc", limit=1)
        self.assertEqual(log.operation, "unlink")
        self.assertEqual(log.res_name, invoice_name)
        self.assertEqual(self._changes(log)["fields"]["partner_id"][0][0], self.customer.id)

    def test_audited_fields_are_configurable(self):
        rule = self.env["sales.document.audit.rule"].search([("model", "=", "sale.order")])
        self.assertTrue(rule, "a default rule per audited model is installed")
        ref_field = self.env["ir.model.fields"]._get("sale.order", "client_order_ref")
        rule.field_ids = [Command.unlink(ref_field.id)]
        order = self._create_order()
        self._commit_point()
        order.client_order_ref = "PO-9"
        self._commit_point()
        self.assertFalse(self._logs(order, "write"))
        self.assertNotIn("client_order_ref", self.env["sale.order"]._audit_fields())

    def test_request_context_outside_requests(self):
        order = self._create_order()
        self._commit_point()
        log = self._logs(order)
        self.assertFalse(log.ip_address)
        self.assertEqual(log.device, "system")

    def test_full_flow_audits_every_document_type(self):
        order, invoice, payment = self._full_flow()
        self._commit_point()
        self.assertTrue(self._logs(order))
        self.assertTrue(self._logs(order.picking_ids))
        self.assertTrue(self._logs(invoice))
        self.assertTrue(self._logs(payment))
        picking_changes = [self._changes(log) for log in self._logs(order.picking_ids)]
        self.assertTrue(any(ch.get("lines") for ch in picking_changes), "stock moves roll up to the picking")
        # Journal entries that are not customer invoices are not audited.
        entries = payment.move_id
        self.assertFalse(self._logs(entries))

    def test_no_regression_credit_note_and_payment(self):
        order, invoice, payment = self._full_flow()
        self.assertIn(invoice.payment_state, ("in_payment", "paid"))
        reversal = self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({"reason": "Damaged", "journal_id": invoice.journal_id.id})
        action = reversal.refund_moves()
        credit_note = self.env["account.move"].browse(action["res_id"])
        credit_note.action_post()
        self._commit_point()
        self.assertEqual(credit_note.move_type, "out_refund")
        self.assertEqual(credit_note.state, "posted")
        self.assertEqual(self._logs(credit_note)[:1].operation, "create")
        self.assertIn(payment.state, ("paid", "in_process"))
