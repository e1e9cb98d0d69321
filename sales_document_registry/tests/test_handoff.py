from datetime import timedelta

from odoo import fields
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import SalesDocumentCase


@tagged("post_install", "-at_install")
class TestHandoff(SalesDocumentCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.storekeeper = cls._create_user("sd_store", "Stan Storekeeper", ["stock.group_stock_user"])
        cls.billing_1 = cls._create_user("sd_bill1", "Bea Billing", ["account.group_account_invoice"])
        cls.billing_2 = cls._create_user("sd_bill2", "Ben Billing", ["account.group_account_invoice"])
        cls.collector = cls._create_user("sd_collect", "Cole Collector", ["account.group_account_invoice"])
        cls.billing_group = cls.env["res.groups"].create({"name": "Billing desk"})
        cls.billing_group.users = cls.billing_1 | cls.billing_2
        Handoff = cls.env["sales.document.stage.handoff"]
        Handoff.create([
            {"stage": "warehouse", "user_id": cls.storekeeper.id, "delay_days": 2},
            {"stage": "invoicing", "group_id": cls.billing_group.id},
            {"stage": "payment", "user_id": cls.collector.id, "delay_days": 3},
        ])
        cls.types = {
            stage: cls.env.ref(f"sales_document_registry.mail_activity_type_sale_{stage}")
            for stage in ("warehouse", "invoicing", "payment", "approval")
        }

    def _activities(self, record, stage):
        return record.activity_ids.filtered(lambda a: a.activity_type_id == self.types[stage])

    def test_hand_offs_along_the_flow(self):
        before = fields.Date.context_today(self.env.user)
        order = self._create_order([(self.product, 2.0)], user=self.salesman)
        order.with_user(self.salesman).action_confirm()
        after = fields.Date.context_today(self.env.user)
        picking = order.picking_ids
        warehouse_activity = self._activities(picking, "warehouse")
        self.assertEqual(warehouse_activity.user_id, self.storekeeper)
        # Two days from the day of the confirmation (which may be either side of midnight).
        self.assertIn(warehouse_activity.date_deadline, {before + timedelta(days=2), after + timedelta(days=2)})

        self._deliver(order)
        self.assertFalse(self._activities(picking, "warehouse"), "done when the goods are delivered")
        invoicing = self._activities(order, "invoicing")
        self.assertEqual(len(invoicing), 1)
        self.assertIn(invoicing.user_id, self.billing_1 | self.billing_2)

        invoice = self._invoice(order)
        self.assertFalse(self._activities(order, "invoicing"), "done when the order is invoiced")
        follow_up = self._activities(invoice, "payment")
        self.assertEqual(follow_up.user_id, self.collector)
        self.assertEqual(follow_up.date_deadline, invoice.invoice_date_due + timedelta(days=3))

        self._pay(invoice)
        self.assertFalse(self._activities(invoice, "payment"), "done when the invoice is paid")

    def test_group_member_with_fewest_hand_offs(self):
        first = self._create_order([(self.product, 1.0)])
        first.action_confirm()
        self._deliver(first)
        second = self._create_order([(self.product, 1.0)])
        second.action_confirm()
        self._deliver(second)
        users = self._activities(first, "invoicing").user_id | self._activities(second, "invoicing").user_id
        self.assertEqual(users, self.billing_1 | self.billing_2, "the work is shared")

    def test_most_specific_rule_wins(self):
        Handoff = self.env["sales.document.stage.handoff"]
        team = self.env["crm.team"].create({"name": "Export"})
        specific = self._create_user("sd_store2", "Sue Export Store", ["stock.group_stock_user"])
        Handoff.create({"stage": "warehouse", "warehouse_id": self.warehouse.id, "team_id": team.id,
                        "user_id": specific.id})
        self.assertEqual(
            Handoff._get_responsible("warehouse", self.company, team, self.warehouse), specific
        )
        self.assertEqual(
            Handoff._get_responsible("warehouse", self.company, self.env["crm.team"], self.warehouse),
            self.storekeeper,
        )
        order = self._create_order([(self.product, 1.0)], team_id=team.id)
        order.action_confirm()
        self.assertEqual(self._activities(order.picking_ids, "warehouse").user_id, specific)

    def test_responsible_required(self):
        with self.assertRaises(ValidationError):
            self.env["sales.document.stage.handoff"].create({"stage": "invoicing"})

    def test_overdue_stage_visible_and_filterable(self):
        order = self._create_order([(self.product, 2.0)])
        order.action_confirm()
        other = self._create_order([(self.product, 1.0)])
        other.action_confirm()
        self.assertFalse(order.sd_handoff_overdue)
        activity = self._activities(order.picking_ids, "warehouse")
        activity.date_deadline = fields.Date.today() - timedelta(days=1)
        order.invalidate_recordset(["sd_handoff_overdue"])
        self.assertTrue(order.sd_handoff_overdue)
        self.assertFalse(other.sd_handoff_overdue)
        overdue = self.env["sale.order"].search([("sd_handoff_overdue", "=", True)])
        self.assertIn(order, overdue)
        self.assertNotIn(other, overdue)
        self.assertIn(other, self.env["sale.order"].search([("sd_handoff_overdue", "=", False)]))

    def test_overdue_approval_counts(self):
        self.env["sales.document.approval.rule"].create({"name": "All orders", "domain": "[]"})
        order = self._create_order([(self.product, 1.0)], user=self.salesman)
        order.with_user(self.salesman).action_request_approval()
        approval = self._activities(order, "approval")
        self.assertTrue(approval)
        approval.date_deadline = fields.Date.today() - timedelta(days=2)
        self.assertIn(order, self.env["sale.order"].search([("sd_handoff_overdue", "=", True)]))
