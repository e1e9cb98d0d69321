from datetime import timedelta

from odoo import fields
from odoo.tests import Form, tagged
from odoo.tools import SQL

from .common import SalesDocumentCase


@tagged("post_install", "-at_install")
class TestReconciliation(SalesDocumentCase):
    def _return(self, picking, qty):
        wizard = Form(
            self.env["stock.return.picking"].with_context(active_id=picking.id, active_model="stock.picking")
        ).save()
        wizard.product_return_moves.quantity = qty
        action = wizard.action_create_returns()
        returned = self.env["stock.picking"].browse(action["res_id"])
        returned.move_ids.quantity = qty
        returned.move_ids.picked = True
        returned.button_validate()
        return returned

    def _credit(self, invoice, qty=None):
        reversal = self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({"journal_id": invoice.journal_id.id, "reason": "Returned goods"})
        credit_note = self.env["account.move"].browse(reversal.refund_moves()["res_id"])
        if qty is not None:
            credit_note.invoice_line_ids.quantity = qty
        credit_note.action_post()
        return credit_note

    def test_full_flow_is_reconciled(self):
        order, invoice, _payment = self._full_flow([(self.product, 2.0), (self.service, 1.0)])
        total = order.amount_total
        self.assertEqual(order.recon_state, "ok", order.recon_issue)
        self.assertAlmostEqual(order.recon_ordered_amount, total)
        self.assertAlmostEqual(order.recon_delivered_amount, total)
        self.assertAlmostEqual(order.recon_invoiced_amount, total)
        self.assertAlmostEqual(order.recon_paid_amount, total)
        self.assertFalse(order.recon_issue)

    def test_open_until_paid(self):
        order = self._create_order([(self.product, 2.0)])
        self.assertEqual(order.recon_state, "open")
        order.action_confirm()
        self.assertEqual(order.recon_state, "open")
        self.assertEqual(order.recon_delivered_amount, 0.0)
        self._deliver(order)
        self.assertAlmostEqual(order.recon_delivered_amount, order.amount_total)
        invoice = self._invoice(order)
        self.assertAlmostEqual(order.recon_invoiced_amount, order.amount_total)
        self.assertEqual(order.recon_paid_amount, 0.0)
        self.assertEqual(order.recon_state, "open")
        self._pay(invoice, amount=50.0)
        self.assertAlmostEqual(order.recon_paid_amount, 50.0)
        self.assertEqual(order.recon_state, "open")

    def test_paid_by_credit_note_reconciliation(self):
        """Paid comes from the invoice's reconciliation, whatever settles it."""
        order = self._create_order([(self.product, 2.0)])
        order.action_confirm()
        self._deliver(order)
        invoice = self._invoice(order)
        reversal = self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({"journal_id": invoice.journal_id.id, "reason": "Cancelled"})
        reversal.modify_moves()
        self.assertEqual(invoice.payment_state, "reversed")
        # The new draft invoice is not posted: net invoiced and paid are zero.
        self.assertAlmostEqual(order.recon_invoiced_amount, 0.0)
        self.assertAlmostEqual(order.recon_paid_amount, 0.0)

    def test_delivered_more_than_ordered(self):
        order = self._create_order([(self.product, 2.0)])
        order.action_confirm()
        picking = order.picking_ids
        picking.move_ids.quantity = 3.0
        picking.move_ids.picked = True
        picking.button_validate()
        self.assertEqual(order.recon_state, "mismatch")
        self.assertIn("Delivered more than ordered", order.recon_issue)
        self.assertIn("Widget", order.recon_issue)

    def test_invoiced_more_than_delivered(self):
        order = self._create_order([(self.product, 2.0)])
        order.action_confirm()
        self._deliver(order)
        invoice = self._invoice(order, post=False)
        invoice.invoice_line_ids.quantity = 3.0
        invoice.action_post()
        self.assertEqual(order.recon_state, "mismatch")
        self.assertIn("Invoiced more than delivered", order.recon_issue)

    def test_return_not_credited(self):
        order = self._create_order([(self.product, 2.0)])
        order.action_confirm()
        picking = self._deliver(order)
        invoice = self._invoice(order)
        self._pay(invoice)
        self.assertEqual(order.recon_state, "ok", order.recon_issue)
        self._return(picking, 1.0)
        self.assertEqual(order.recon_state, "mismatch")
        self.assertIn("returned but not credited", order.recon_issue)
        self._credit(invoice, qty=1.0)
        self.assertNotIn("returned", order.recon_issue or "")
        unit = order.order_line.price_total / 2
        self.assertAlmostEqual(order.recon_invoiced_amount, unit)
        self.assertAlmostEqual(order.recon_delivered_amount, unit)
        # The credit note is not refunded yet: paid (net) is the invoice's full payment.
        self.assertAlmostEqual(order.recon_paid_amount, order.amount_total)
        self.assertEqual(order.recon_state, "mismatch")
        self.assertIn("Paid more than invoiced", order.recon_issue)

    def test_overdue_payment_and_cron(self):
        order = self._create_order([(self.product, 2.0)])
        order.action_confirm()
        self._deliver(order)
        invoice = self._invoice(order)
        self.assertEqual(order.recon_state, "open")
        # Time passes: the invoice falls due and stays unpaid.
        self.env.cr.execute(SQL(
            "UPDATE account_move SET invoice_date_due = %s WHERE id = %s",
            fields.Date.today() - timedelta(days=3), invoice.id,
        ))
        self.env.invalidate_all()
        self.assertEqual(order.recon_state, "open", "stored: only the scheduled check sees time pass")
        self.env["sale.order"]._cron_recon_check()
        self.assertEqual(order.recon_state, "mismatch")
        self.assertIn("payment overdue", order.recon_issue)
        recon_type = self.env.ref("sales_document_registry.mail_activity_type_sale_recon")
        activity = order.activity_ids.filtered(lambda a: a.activity_type_id == recon_type)
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.salesman)
        self.assertIn(order, self.env["sale.order"].search([("recon_state", "=", "mismatch")]))
        # Paid: the next check closes the exception.
        self._pay(invoice)
        self.env["sale.order"]._cron_recon_check()
        self.assertEqual(order.recon_state, "ok")
        self.assertFalse(order.activity_ids.filtered(lambda a: a.activity_type_id == recon_type))

    def test_invoiced_but_not_delivered_after_days(self):
        self.product.invoice_policy = "order"
        order = self._create_order([(self.product, 2.0)])
        order.action_confirm()
        invoice = order._create_invoices()
        invoice.invoice_date = fields.Date.today() - timedelta(days=40)
        invoice.action_post()
        self.env["sale.order"]._cron_recon_check()
        self.assertEqual(order.recon_state, "mismatch")
        self.assertIn("not delivered", order.recon_issue)
        self.company.sales_recon_delivery_days = 60
        self.env["sale.order"]._cron_recon_check()
        self.assertNotIn("not delivered", order.recon_issue or "")

    def test_exceptions_action_and_pivot(self):
        action = self.env["ir.actions.act_window"]._for_xml_id("sales_document_registry.sale_order_recon_action")
        self.assertIn("pivot", action["view_mode"])
        order, _invoice, _payment = self._full_flow()
        groups = self.env["sale.order"].read_group(
            [("id", "=", order.id)], ["recon_paid_amount:sum"], ["recon_state"]
        )
        self.assertAlmostEqual(groups[0]["recon_paid_amount"], order.amount_total)

    def test_invoice_shared_by_two_orders(self):
        first = self._create_order([(self.product, 2.0)])
        second = self._create_order([(self.product_2, 2.0)])
        orders = first | second
        orders.action_confirm()
        self._deliver(first)
        self._deliver(second)
        invoice = orders._create_invoices()
        self.assertEqual(len(invoice), 1)
        invoice.action_post()
        self._pay(invoice, amount=invoice.amount_total / 2)
        self.assertAlmostEqual(first.recon_invoiced_amount, first.amount_total)
        self.assertAlmostEqual(second.recon_invoiced_amount, second.amount_total)
        self.assertAlmostEqual(first.recon_paid_amount, first.amount_total / 2)
        self.assertAlmostEqual(second.recon_paid_amount, second.amount_total / 2)
        self.assertEqual(orders.mapped("recon_state"), ["open", "open"])
