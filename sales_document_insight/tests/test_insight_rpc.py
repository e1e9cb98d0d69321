import xmlrpc.client
from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged

from .common import InsightCase


@tagged("post_install", "-at_install")
class TestInsightRpc(HttpCase, InsightCase):
    """Targets and customer insight as clients see them over XML-RPC."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for user in (cls.salesman, cls.salesman_2, cls.sales_manager, cls.leader):
            user.password = user.login

    def _rpc(self, user, model, method, *args, **kwargs):
        return self.xmlrpc_object.execute_kw(
            self.env.cr.dbname, user.id, user.login, model, method, list(args), kwargs
        )

    def _flow(self):
        """An order of the salesman, invoiced, partly credited and partly paid; one of another salesman."""
        day = fields.Date.context_today(self.env.user)
        order = self._confirmed_order(day)
        invoice = self._posted_invoice(order, day)
        refund = self._credit_note(invoice, 1.0)
        self._payment(invoice, 50.0, day)
        other = self._confirmed_order(day, partner_id=self.other_customer.id, user_id=self.salesman_2.id)
        self._posted_invoice(other, day)
        self.env.flush_all()
        return day, order, invoice, refund

    def _registry_sum(self, user, domain):
        rows = self._rpc(user, "sales.document", "search_read", domain, fields=["doc_type", "amount_total"])
        return sum(-row["amount_total"] if row["doc_type"] == "credit_note" else row["amount_total"] for row in rows)

    def test_achieved_is_the_sum_of_the_registry_rows_on_each_basis(self):
        day, order, invoice, refund = self._flow()
        date_from, date_to = day - timedelta(days=40), day + timedelta(days=40)
        ids = {}
        for basis in ("confirmed", "invoiced", "paid"):
            ids[basis] = self._rpc(self.sales_manager, "sales.target", "create", {
                "user_id": self.salesman.id, "basis": basis, "amount_target": 1000.0,
                "period": "custom", "date_from": str(date_from), "date_to": str(date_to),
            })
        self.assertTrue(self._rpc(self.sales_manager, "sales.target", "action_recompute", list(ids.values())))
        period = [("user_id", "=", self.salesman.id), ("date", ">=", str(date_from)), ("date", "<=", str(date_to))]
        expected = {
            "confirmed": self._registry_sum(
                self.sales_manager, period + [("doc_type", "=", "order"), ("state", "in", ["open", "done"])]),
            "invoiced": self._registry_sum(
                self.sales_manager,
                period + [("doc_type", "in", ["invoice", "credit_note"]), ("state", "in", ["open", "done"])]),
            "paid": self._registry_sum(
                self.sales_manager, period + [("doc_type", "=", "payment"), ("state", "in", ["open", "done"])]),
        }
        # The same figures from the documents themselves.
        self.assertAlmostEqual(expected["confirmed"], order.amount_total)
        self.assertAlmostEqual(expected["invoiced"], invoice.amount_total - refund.amount_total)
        self.assertAlmostEqual(expected["paid"], 50.0)
        for basis, target_id in ids.items():
            # The salesperson reads her own targets.
            [target] = self._rpc(self.salesman, "sales.target", "read", [target_id],
                                 fields=["amount_achieved", "live_amount", "count_achieved"])
            self.assertAlmostEqual(target["amount_achieved"], expected[basis], msg=basis)
            self.assertAlmostEqual(target["live_amount"], expected[basis], msg=basis)
        # A document moving the figure is counted at the next measure.
        self._payment(invoice, 20.0, day)
        self._rpc(self.sales_manager, "sales.target", "action_recompute", [ids["paid"]])
        [target] = self._rpc(self.salesman, "sales.target", "read", [ids["paid"]], fields=["amount_achieved"])
        self.assertAlmostEqual(target["amount_achieved"], 70.0)

    def test_access_per_role(self):
        day = self._day("2025-03-01")
        Target = self.env["sales.target"]
        own = Target.create({"user_id": self.salesman.id, "amount_target": 100, "date_from": day})
        team = Target.create({"team_id": self.team.id, "amount_target": 500, "date_from": day})
        other = Target.create({"user_id": self.salesman_2.id, "amount_target": 100, "date_from": day})
        seen = set(self._rpc(self.salesman, "sales.target", "search", []))
        self.assertEqual(seen & {own.id, team.id, other.id}, {own.id, team.id})
        self.assertFalse(set(self._rpc(self.salesman_2, "sales.target", "search", [])) & {own.id, team.id})
        manager_seen = set(self._rpc(self.sales_manager, "sales.target", "search", []))
        self.assertLessEqual({own.id, team.id, other.id}, manager_seen)
        with self.assertRaises(xmlrpc.client.Fault):
            self._rpc(self.salesman_2, "sales.target", "read", [own.id], fields=["amount_target"])
        # Only managers write.
        for method, args in (
            ("write", ([own.id], {"amount_target": 1.0})),
            ("create", ({"user_id": self.salesman.id, "amount_target": 1.0, "date_from": "2025-06-01"},)),
            ("unlink", ([own.id],)),
            ("action_recompute", ([own.id],)),
        ):
            with self.assertRaises(xmlrpc.client.Fault, msg=method):
                self._rpc(self.salesman, "sales.target", method, *args)
        # Nobody writes the measured figures, whatever the context sent.
        for context in ({}, {"sales_target_results": True}):
            with self.assertRaises(xmlrpc.client.Fault) as ctx:
                self._rpc(self.sales_manager, "sales.target", "write", [own.id],
                          {"amount_achieved": 1e9, "pace_state": "ahead"}, context=context)
            self.assertIn("measured from the registry", ctx.exception.faultString)
        own.invalidate_recordset()
        self.assertEqual(own.amount_achieved, 0.0)
        self.assertEqual(own.amount_target, 100)
        self._rpc(self.sales_manager, "sales.target", "write", [own.id], {"amount_target": 150.0})
        own.invalidate_recordset()
        self.assertEqual(own.amount_target, 150.0)

    def test_rfm_segment_is_filterable(self):
        today = fields.Date.context_today(self.env.user)
        old = self._confirmed_order(today - timedelta(days=400))
        recent = self._confirmed_order(today - timedelta(days=5), partner_id=self.other_customer.id,
                                       user_id=self.salesman_2.id)
        self.env.flush_all()
        with self.assertRaises(xmlrpc.client.Fault):
            self._rpc(self.salesman, "res.partner", "action_recompute_insight")
        self.assertTrue(self._rpc(self.sales_manager, "res.partner", "action_recompute_insight"))
        lost = self._rpc(self.sales_manager, "res.partner", "search", [("rfm_segment", "=", "lost")])
        self.assertIn(old.partner_id.commercial_partner_id.id, lost)
        self.assertNotIn(recent.partner_id.id, lost)
        self.assertIn(self.customer_contact.id, lost, "contacts carry their company's segment")
        groups = self._rpc(self.sales_manager, "res.partner", "read_group",
                           [("rfm_segment", "!=", False)], ["insight_order_count:sum"], ["rfm_segment"])
        self.assertIn("lost", {group["rfm_segment"] for group in groups})
        # The salesperson filters her customers too, and cannot relabel them.
        self.assertIn(self.customer.id,
                      self._rpc(self.salesman, "res.partner", "search", [("rfm_segment", "=", "lost")]))
        for context in ({}, {"sales_insight_write": True}):
            with self.assertRaises(xmlrpc.client.Fault):
                self._rpc(self.salesman, "res.partner", "write", [self.customer.id],
                          {"rfm_segment": "key"}, context=context)
        self.customer.invalidate_recordset()
        self.assertEqual(self.customer.rfm_segment, "lost")
