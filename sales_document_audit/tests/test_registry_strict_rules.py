"""The strict "own customers" rules, answered on the registry row: same rows as the documents."""

from odoo import Command
from odoo.tests import HttpCase, tagged

from odoo.addons.sales_document_registry.tests.common import RegistryAccessRpcMixin
from odoo.addons.sales_document_registry.tools import registry_store

from .common import AuditCase


@tagged("post_install", "-at_install")
class TestRegistryStrictRules(RegistryAccessRpcMixin, HttpCase, AuditCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.auditor = cls._create_user(
            "sd_sr_auditor", "Otto Auditor", ["base.group_user", "sales_document_audit.group_auditor"]
        )
        for user in (cls.salesman, cls.salesman_2, cls.sales_manager, cls.auditor):
            user.password = user.login

    def setUp(self):
        super().setUp()
        self.company.sales_strict_own_customers = True
        # The customer is the salesperson's; one of their orders is sold by a colleague.
        self.own_flow = self._full_flow(user_id=self.salesman.id)
        self.colleague_flow = self._full_flow(user_id=self.salesman_2.id)
        self.other_flow = self._full_flow(partner_id=self.other_customer.id, user_id=self.salesman_2.id)
        self.unassigned = self._create_order(partner_id=self.other_customer.id, user_id=False)

    def _visible_orders(self, rows):
        return set(rows.filtered(lambda row: row.doc_type == "order").mapped("res_id"))

    def test_each_role_sees_in_the_registry_what_the_models_let_it_read(self):
        """Strict salesperson, standard salesperson, manager and auditor over XML-RPC."""
        mine = self.assertRegistryMatchesModels(self.salesman)
        self.assertEqual(
            self._visible_orders(mine) & {self.own_flow[0].id, self.colleague_flow[0].id,
                                           self.other_flow[0].id, self.unassigned.id},
            {self.own_flow[0].id, self.colleague_flow[0].id},
        )
        for user in (self.salesman_2, self.sales_manager, self.auditor):
            with self.subTest(user=user.login):
                self.assertTrue(self.assertRegistryMatchesModels(user))
        # Without the strict setting, unassigned documents are visible again (standard Odoo).
        self.company.sales_strict_own_customers = False
        standard = self.assertRegistryMatchesModels(self.salesman)
        self.assertIn(self.unassigned.id, self._visible_orders(standard))

    def test_strict_rules_are_answered_on_the_row(self):
        """Orders, deliveries, invoices and payments: one condition on the row, no sub-query."""
        documents = {"sale.order", "stock.picking", "account.move", "account.payment"}
        self.assertFalse(self._subquery_models(self.salesman) & documents)
        self.assertIn("partner_user_id", self._access_parts(self.salesman))
        self.assertFalse(self._subquery_models(self.auditor) & documents)

    def test_strict_pivots_are_answered_from_the_roll_up(self):
        """Count and amount per state, type and month for the strict salesperson come from the
        roll-up's two disjoint parts (his documents; his customers' documents sold by someone
        else), and equal the sums of the rows he sees."""
        self.assertTrue(self.customer.user_id == self.salesman and self.colleague_flow[0].user_id == self.salesman_2)
        self.env.flush_all()
        # As in a database of the registry and the audit addon (the addons of this one add
        # service requests and opportunities, whose own rules the roll-up cannot answer).
        self.patch(type(self.env["sales.document"]), "_registry_layout", lambda self: registry_store.DEFAULT_LAYOUT)
        Registry = self.env["sales.document"].with_user(self.salesman)
        for domain, groupby in (([], "state"), ([], "doc_type"), ([("doc_type", "in", ["order", "invoice"])], "state"),
                                ([], "date:month")):
            with self.subTest(domain=domain, groupby=groupby):
                rows = Registry.search(domain)
                self.assertIn(self.colleague_flow[0].id, rows.filtered(lambda r: r.doc_type == "order").mapped("res_id"))
                expected = {}
                for row in rows:
                    key = row.date.replace(day=1) if groupby == "date:month" else row[groupby]
                    count, amount = expected.get(key, (0, 0.0))
                    expected[key] = (count + 1, amount + row.amount_total)
                summary = Registry._summary_read_group(
                    domain, [groupby], ["__count", "amount_total:sum"], (), 0, None, None
                )
                self.assertIsNotNone(summary, "answered from the roll-up")
                got = {key: (count, amount) for key, count, amount in summary}
                self.assertEqual({key: value[0] for key, value in got.items()},
                                 {key: value[0] for key, value in expected.items()})
                for key, (_count, amount) in expected.items():
                    self.assertAlmostEqual(got[key][1], amount, 2)
        # Grouped by salesperson, the rows per customer's salesperson cannot answer: the rows do.
        self.assertIsNone(Registry._summary_read_group([], ["user_id"], ["__count"], (), 0, None, None))
        # Without that rule (a sales manager), the roll-up answers from its plain rows only.
        Registry = self.env["sales.document"].with_user(self.sales_manager)
        summary = Registry._summary_read_group([], ["state"], ["__count"], (), 0, None, None)
        self.assertEqual(sum(count for _state, count in summary), Registry.search_count([]))

    def test_a_changed_customer_salesperson_moves_visibility_at_once(self):
        self.assertIn(self.colleague_flow[0].id, self._visible_orders(self.assertRegistryMatchesModels(self.salesman)))
        self.customer.user_id = self.salesman_2
        mine = self.assertRegistryMatchesModels(self.salesman)
        self.assertNotIn(self.colleague_flow[0].id, self._visible_orders(mine))
        self.assertIn(self.own_flow[0].id, self._visible_orders(mine))
        theirs = self.assertRegistryMatchesModels(self.salesman_2)
        self.assertIn(self.own_flow[0].id, self._visible_orders(theirs))
        self.other_customer.user_id = self.salesman
        mine = self.assertRegistryMatchesModels(self.salesman)
        self.assertIn(self.unassigned.id, self._visible_orders(mine))
        self.assertIn(self.other_flow[0].id, self._visible_orders(mine))

    def test_multi_company_salesperson(self):
        company_b = self.env["res.company"].create({"name": "Strict Company B", "sales_strict_own_customers": True})
        self.salesman.company_ids = [Command.link(company_b.id)]
        order_b = self.env["sale.order"].create({
            "partner_id": self.customer.id, "user_id": self.salesman.id, "company_id": company_b.id,
            "order_line": [Command.create({"product_id": self.service.id, "product_uom_qty": 1})],
        })
        one = self.assertRegistryMatchesModels(self.salesman, {"allowed_company_ids": [self.company.id]})
        both = self.assertRegistryMatchesModels(
            self.salesman, {"allowed_company_ids": [self.company.id, company_b.id]}
        )
        self.assertNotIn(order_b.id, self._visible_orders(one))
        self.assertIn(order_b.id, self._visible_orders(both))
