"""The demo filler (tools/demo_data.py) on a small year, checked through the ORM and XML-RPC.

The reference day is fixed, so the same flows are made whatever day the test
runs; nothing is committed (the filler's ``commit=False``).
"""

import importlib.util
import xmlrpc.client
from datetime import date, timedelta
from pathlib import Path

from odoo.tests import HttpCase, tagged

REPO = Path(__file__).resolve().parent.parent
REFERENCE = date(2025, 3, 14)
ORDERS = 20


def load_demo_data():
    spec = importlib.util.spec_from_file_location("sales_documents_demo_data_test", REPO / "tools" / "demo_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@tagged("post_install", "-at_install")
class TestDemoData(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.demo = load_demo_data()
        cls.summary = cls.demo.fill(cls.env, reference_date=REFERENCE, orders=ORDERS, commit=False, backup=False)
        cls.env.invalidate_all()
        cls.flows = cls.demo.plan_demo(ORDERS, REFERENCE)
        cls.users = {login: cls.env["res.users"].search([("login", "=", login)])
                     for login, *_rest in cls.demo.DEMO_USERS}
        cls.orders = cls.env["sale.order"].search([("client_order_ref", "=like", "DEMO-%")])

    def _order(self, flow):
        return self.orders.filtered(lambda o: o.client_order_ref == f"DEMO-{flow['index'] + 1:05d}")

    def _rows(self, order, doc_type):
        return self.env["sales.document"].search([("sale_order_id", "=", order.id), ("doc_type", "=", doc_type)])

    def _rpc(self, login, model, method, args, kwargs=None):
        self.env.flush_all()
        user = self.users.get(login) or self.env["res.users"].search([("login", "=", login)])
        self.assertTrue(user, login)
        try:
            return self.xmlrpc_object.execute_kw(
                self.env.cr.dbname, user.id, "demo", model, method, args, kwargs or {})
        finally:
            self.env.invalidate_all()

    def test_year_of_dated_flows_ending_on_the_reference_day(self):
        self.assertEqual(self.summary["reference"], REFERENCE.isoformat())
        self.assertGreaterEqual(len(self.orders), ORDERS)
        dates = self.orders.mapped("date_order")
        self.assertGreaterEqual(min(dates).date(), REFERENCE - timedelta(days=365))
        self.assertLessEqual(max(dates).date(), REFERENCE)
        self.assertGreater((max(dates) - min(dates)).days, 200, "orders spread over the year")
        invoices = self.orders.invoice_ids.filtered(lambda m: m.move_type == "out_invoice")
        self.assertTrue(invoices)
        for invoice in invoices:
            order = invoice.invoice_line_ids.sale_line_ids.order_id[:1]
            self.assertGreaterEqual(invoice.invoice_date, order.date_order.date(), invoice.name)
            self.assertLessEqual(invoice.invoice_date, REFERENCE)

    def test_flows_complete_where_their_day_came(self):
        checked = 0
        for flow in self.flows:
            order = self._order(flow)
            self.assertEqual(len(order), 1, flow)
            if flow["kind"] not in ("flow", "duplicate") or order.state != "sale":
                continue
            checked += 1
            if flow["deliver"]:
                self.assertTrue(self._rows(order, "delivery").filtered(lambda r: r.state == "done"), order.name)
                self.assertEqual(order.stage_delivered_date.date(), flow["deliver"], order.name)
            if flow["invoice"]:
                self.assertTrue(self._rows(order, "invoice"), order.name)
            if flow["pay"]:
                self.assertTrue(self._rows(order, "payment"), order.name)
                expected = "partial" if flow["plan"].partial else "paid"
                invoice = order.invoice_ids.filtered(lambda m: m.move_type == "out_invoice")
                self.assertIn(invoice.payment_state, (expected, "in_payment") if expected == "paid" else (expected,))
            if flow["refund"]:
                self.assertTrue(self._rows(order, "credit_note"), order.name)
            if not flow["deliver"]:
                self.assertFalse(self._rows(order, "invoice"), order.name)
        self.assertGreater(checked, ORDERS // 2)

    def test_cycle_times_reconciliation_approvals_and_guards_show(self):
        cycle = self.env["sales.document.cycle.time"].search([("order_id", "in", self.orders.ids)])
        paid = cycle.filtered("paid")
        self.assertTrue(paid)
        self.assertTrue(all(row.invoice_to_paid_days > 1 for row in paid), "payments come days after invoices")
        self.assertGreater(sum(paid.mapped("order_to_delivery_days")), 0)
        self.assertGreaterEqual(len(set(self.orders.mapped("recon_state"))), 2)
        decisions = set(self.orders.mapped("approval_decision")) - {False}
        self.assertIn("pending", decisions)
        self.assertTrue(decisions & {"approved", "rejected"}, decisions)
        pending = self.orders.filtered(lambda o: o.approval_decision == "pending")
        self.assertTrue(pending.activity_ids.filtered(lambda a: a.user_id == self.users["demo.manager"]),
                        "the manager has the approval to do")
        refused = self.env["mail.activity"].search([
            ("res_model", "=", "sale.order"), ("res_id", "in", self.orders.ids),
            ("summary", "=", self.demo.REFUSED_SUMMARY),
        ])
        self.assertEqual(len(refused), sum(1 for f in self.flows if f["kind"] == "oversell"))
        self.assertTrue(all(self.env["sale.order"].browse(a.res_id).state in ("draft", "sent") for a in refused))
        duplicates = [f for f in self.flows if f["kind"] == "duplicate"]
        self.assertTrue(duplicates, "the plan has likely duplicates")
        flagged = self.env["sale.order"].search([("id", "in", self.orders.ids), ("is_possible_duplicate", "=", True)])
        self.assertGreaterEqual(len(flagged), 2 * len(duplicates))
        self.assertTrue(self.orders.tag_ids)

    def test_targets_and_service_requests_when_their_addons_are_installed(self):
        Target = self.env.get("sales.target")
        targets = Target.search([("user_id", "in", self.users["demo.sales1"].ids)]) if Target is not None else []
        self.assertEqual(self.summary["targets"], 0 if Target is None else 12 * 4)
        if Target is not None:
            self.assertEqual(len(targets), 12)
            self.assertTrue(any(t.amount_achieved for t in targets), "targets measured from the registry")
        Request = self.env.get("sales.service.request")
        requests = Request.search([("sale_order_id", "in", self.orders.ids)]) if Request is not None else []
        self.assertEqual(self.summary["service_requests"], len(requests))
        if Request is not None:
            self.assertTrue(requests, "the plan files service requests")
            self.assertTrue(any(r.rating for r in requests), "some are rated")

    def test_second_run_adds_nothing(self):
        before = self.demo.counts(self.env)
        self.assertIsNone(self.demo.fill(self.env, reference_date=REFERENCE + timedelta(days=40), orders=ORDERS,
                                         commit=False, backup=False))
        self.assertEqual(self.demo.counts(self.env), before)

    def test_demo_users_log_in_and_see_their_share(self):
        total = len(self.orders)
        sales1 = self.users["demo.sales1"]
        seen = self._rpc("demo.sales1", "sale.order", "search_read",
                         [[("client_order_ref", "=like", "DEMO-%")]], {"fields": ["user_id"]})
        self.assertTrue(seen)
        self.assertLess(len(seen), total)
        self.assertEqual({row["user_id"][0] for row in seen}, {sales1.id})
        self.assertEqual(self._rpc("demo.manager", "sale.order", "search_count",
                                   [[("client_order_ref", "=like", "DEMO-%")]]), total)
        self.assertEqual(self._rpc("demo.auditor", "sale.order", "search_count",
                                   [[("client_order_ref", "=like", "DEMO-%")]]), total)
        deliveries = self.orders.picking_ids
        self.assertEqual(self._rpc("demo.warehouse", "stock.picking", "search_count",
                                   [[("id", "in", deliveries.ids)]]), len(deliveries))
        moves = self.orders.invoice_ids
        self.assertEqual(self._rpc("demo.accountant", "account.move", "search_count",
                                   [[("id", "in", moves.ids)]]), len(moves))
        with self.assertRaises(xmlrpc.client.Fault):
            self._rpc("demo.auditor", "sale.order", "write", [self.orders[:1].ids, {"note": "changed"}])
        with self.assertRaises(xmlrpc.client.Fault):
            self._rpc("demo.warehouse", "account.move", "search_count", [[]])
        self.assertTrue(self._rpc("demo.security", "sales.document.audit.rule", "search_count", [[]]))
        portal = self.env["res.users"].search([("login", "=", self.demo.PORTAL_USER[0])])
        self.assertTrue(portal.has_group("base.group_portal"))
        self.assertEqual(self.xmlrpc_common.authenticate(self.env.cr.dbname, portal.login, "demo", {}), portal.id)
        own = self.orders.filtered(lambda o: o.partner_id.commercial_partner_id == portal.commercial_partner_id
                                   and o.state == "sale")
        self.assertTrue(own, "the portal customer has orders")
        rows = self._rpc(portal.login, "sale.order", "search_read", [[]], {"fields": ["partner_id"]})
        self.assertTrue(rows)
        partners = self.env["res.partner"].browse([row["partner_id"][0] for row in rows])
        self.assertEqual(partners.commercial_partner_id, portal.commercial_partner_id)
