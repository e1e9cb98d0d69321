from odoo.tests import tagged

from .common import SalesDocumentCase


@tagged("post_install", "-at_install")
class TestRegistry(SalesDocumentCase):
    def test_full_flow_appears_in_registry(self):
        """Order, delivery, invoice and payment each get one registry row, linked to the order."""
        order, invoice, payment = self._full_flow()
        self.env.flush_all()
        rows = self.env["sales.document"].search([("sale_order_id", "=", order.id)])
        by_type = {row.doc_type: row for row in rows}
        self.assertEqual(set(by_type), {"order", "delivery", "invoice", "payment"})
        self.assertEqual(by_type["order"].res_id, order.id)
        self.assertEqual(by_type["invoice"].res_id, invoice.id)
        self.assertEqual(by_type["payment"].res_id, payment.id)
        self.assertEqual(by_type["invoice"].state, "done")
        self.assertEqual(by_type["delivery"].state, "done")
        self.assertEqual(by_type["order"].partner_id, self.customer)
        self.assertEqual(by_type["payment"].user_id, self.salesman)
        self.assertAlmostEqual(by_type["invoice"].amount_total, invoice.amount_total)
        self.assertAlmostEqual(by_type["delivery"].amount_total, 200.0)
        # stage trail on the order
        self.assertTrue(order.stage_confirmed_date)
        self.assertTrue(order.stage_delivered_date)
        self.assertTrue(order.stage_invoiced_date)
        self.assertTrue(order.stage_paid_date)
        self.assertEqual(invoice.preferred_payment_method_line_id, self.payment_method_line)
        # search by product, then open the real document
        found = self.env["sales.document"].search([("product_id", "=", self.product.id)])
        self.assertTrue(set(rows.ids) - {by_type["payment"].id} <= set(found.ids))
        action = by_type["invoice"].action_open_document()
        self.assertEqual((action["res_model"], action["res_id"]), ("account.move", invoice.id))
        flow = self.env["sales.document.flow"]._action_open(payment)
        html = self.env["sales.document.flow"].browse(flow["res_id"]).html
        for name in (order.name, invoice.name, order.picking_ids.name, payment.name):
            self.assertIn(name, html)

    def test_denormalized_fields_are_not_tracked(self):
        """Filling the registry's helper columns on upgrade must not post chatter messages."""
        for model in ("stock.picking", "account.payment"):
            for name in ("sd_user_id", "sd_team_id"):
                self.assertFalse(getattr(self.env[model]._fields[name], "tracking", False), (model, name))
        order = self._create_order(user=self.salesman)
        order.action_confirm()
        self.env.flush_all()
        self.assertEqual(order.picking_ids.sd_user_id, self.salesman)
        self.assertEqual(
            self.env["sales.document"].search([("res_model", "=", "stock.picking"),
                                               ("res_id", "in", order.picking_ids.ids)]).user_id,
            self.salesman,
        )
