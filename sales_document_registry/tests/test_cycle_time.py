from datetime import datetime

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import SalesDocumentCase


@tagged("post_install", "-at_install")
class TestCycleTime(SalesDocumentCase):
    def _order_with_trail(self, user, requested, approved, confirmed, delivered, invoiced, paid):
        order, _invoice, _payment = self._full_flow(user_id=user.id)
        order.sudo().write({
            "date_order": requested,
            "stage_review_requested_date": requested,
            "stage_approved_date": approved,
            "stage_confirmed_date": confirmed,
            "stage_delivered_date": delivered,
            "stage_invoiced_date": invoiced,
            "stage_paid_date": paid,
        })
        self.env.flush_all()
        return order

    def test_cycle_times_per_stage(self):
        order = self._order_with_trail(
            self.salesman,
            requested=datetime(2026, 3, 1, 8, 0),
            approved=datetime(2026, 3, 1, 20, 0),
            confirmed=datetime(2026, 3, 2, 8, 0),
            delivered=datetime(2026, 3, 4, 8, 0),
            invoiced=datetime(2026, 3, 5, 8, 0),
            paid=datetime(2026, 3, 15, 8, 0),
        )
        row = self.env["sales.document.cycle.time"].search([("order_id", "=", order.id)])
        self.assertEqual(len(row), 1)
        self.assertAlmostEqual(row.approval_days, 0.5)
        self.assertAlmostEqual(row.order_to_delivery_days, 2.0)
        self.assertAlmostEqual(row.delivery_to_invoice_days, 1.0)
        self.assertAlmostEqual(row.invoice_to_paid_days, 10.0)
        self.assertAlmostEqual(row.total_days, 14.0)
        self.assertEqual(row.user_id, self.salesman)
        self.assertEqual(row.partner_id, self.customer)
        self.assertTrue(row.paid)

    def test_averages_by_salesperson_and_month(self):
        for days in (2, 4):
            self._order_with_trail(
                self.salesman,
                requested=datetime(2026, 4, 1), approved=datetime(2026, 4, 1),
                confirmed=datetime(2026, 4, 1), delivered=datetime(2026, 4, 1 + days),
                invoiced=datetime(2026, 4, 10), paid=datetime(2026, 4, 20),
            )
        groups = self.env["sales.document.cycle.time"]._read_group(
            [("user_id", "=", self.salesman.id)],
            ["date:month"],
            ["order_to_delivery_days:avg", "__count"],
        )
        self.assertEqual(len(groups), 1)
        _month, average, count = groups[0]
        self.assertEqual(count, 2)
        self.assertAlmostEqual(average, 3.0)

    def test_quotations_and_open_stages(self):
        quotation = self._create_order()
        order = self._create_order()
        order.action_confirm()
        Report = self.env["sales.document.cycle.time"]
        self.assertFalse(Report.search([("order_id", "=", quotation.id)]))
        row = Report.search([("order_id", "=", order.id)])
        self.assertTrue(row)
        self.assertFalse(row.order_to_delivery_days, "not delivered yet: no duration")
        self.assertFalse(row.approval_days)

    def test_salespeople_see_their_own_orders(self):
        own = self._create_order(user=self.salesman)
        own.action_confirm()
        other = self._create_order(user_id=self.salesman_2.id, partner_id=self.other_customer.id)
        other.action_confirm()
        rows = self.env["sales.document.cycle.time"].with_user(self.salesman).search([])
        self.assertIn(own, rows.order_id)
        self.assertNotIn(other, rows.order_id)
        manager_rows = self.env["sales.document.cycle.time"].with_user(self.sales_manager).search([])
        self.assertIn(other, manager_rows.order_id)
        with self.assertRaises(AccessError):
            self.env["sales.document.cycle.time"].with_user(self.salesman).browse(
                rows.filtered(lambda r: r.order_id == own).id
            ).write({"total_days": 1.0})

    def test_views_and_dashboard(self):
        Report = self.env["sales.document.cycle.time"].with_user(self.sales_manager)
        views = Report.get_views([(False, "graph"), (False, "pivot"), (False, "list"), (False, "search")])
        self.assertIn("order_to_delivery_days", views["views"]["pivot"]["arch"])
        self.assertIn("approval_days", views["views"]["graph"]["arch"])
        for xmlid in ("sales_document_cycle_time_action", "sales_document_cycle_time_action_dashboard"):
            action = self.env["ir.actions.act_window"]._for_xml_id(f"sales_document_registry.{xmlid}")
            self.assertEqual(action["res_model"], "sales.document.cycle.time")
