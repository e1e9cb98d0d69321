from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged

from .common import InsightCase

# A whole tour, page loads included, on a machine that may be busy with other work.
TOUR_TIMEOUT = 180


@tagged("post_install", "-at_install")
class TestInsightTours(HttpCase, InsightCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for user in (cls.salesman, cls.sales_manager):
            user.password = user.login

    def test_salesperson_sees_her_target_pace(self):
        today = fields.Date.context_today(self.env.user)
        order = self._confirmed_order(today)
        self.env.flush_all()
        self.env["sales.target"].create({
            "user_id": self.salesman.id, "basis": "confirmed", "period": "custom",
            "date_from": today - timedelta(days=10), "date_to": today + timedelta(days=10),
            "amount_target": order.amount_total * 4,
        })
        self.start_tour("/odoo/action-sales_document_insight.sales_target_action_my", "sales_document_insight_my_targets_tour", login=self.salesman.login,
                        timeout=TOUR_TIMEOUT)

    def test_manager_opens_the_dashboard_and_drills_down(self):
        self._confirmed_order()
        self.start_tour("/odoo/action-spreadsheet_dashboard.ir_actions_dashboard_action", "sales_document_insight_dashboard_tour", login=self.sales_manager.login,
                        timeout=TOUR_TIMEOUT)
