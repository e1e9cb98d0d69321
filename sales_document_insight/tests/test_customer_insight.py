from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import InsightCase


@tagged("post_install", "-at_install")
class TestCustomerInsight(InsightCase):
    def test_purchase_payment_and_segment_figures(self):
        first = self._confirmed_order(self._day("2025-01-10"))
        second = self._confirmed_order(self._day("2025-03-11"))
        invoice = self._posted_invoice(first, self._day("2025-01-12"))
        self._payment(invoice, invoice.amount_total, self._day("2025-01-22"))
        late = self._posted_invoice(second, self._day("2025-01-15"))
        self._confirmed_order(self._day("2024-01-01"), partner_id=self.other_customer.id,
                              user_id=self.salesman_2.id)
        self.env["res.partner"]._sd_insight_recompute(on_date=self._day("2025-04-01"))
        customer = self.customer
        self.assertEqual(str(customer.insight_first_purchase), "2025-01-10")
        self.assertEqual(str(customer.insight_last_purchase), "2025-03-11")
        self.assertEqual(customer.insight_order_count, 2)
        self.assertEqual(customer.insight_frequency_days, 60.0)
        self.assertEqual(customer.insight_repeat_rate, 50.0)
        self.assertAlmostEqual(customer.insight_avg_order, (first.amount_total + second.amount_total) / 2)
        self.assertEqual(customer.insight_pay_days, 10.0)
        # One invoice paid in time, one unpaid past its due date (30 days).
        self.assertTrue(late.invoice_date_due < self._day("2025-04-01"))
        self.assertEqual(customer.insight_overdue_share, 50.0)
        self.assertEqual(customer.rfm_segment, "new")
        self.assertEqual(self.customer_contact.rfm_segment, "new")
        self.assertEqual(self.other_customer.rfm_segment, "lost")
        # Months later the same customer is at risk, then lost.
        self.env["res.partner"]._sd_insight_recompute(on_date=self._day("2025-10-01"))
        self.assertEqual(customer.rfm_segment, "at_risk")
        self.env["res.partner"]._sd_insight_recompute(on_date=self._day("2026-06-01"))
        self.assertEqual(customer.rfm_segment, "lost")

    def test_service_requests_and_ratings(self):
        order = self._confirmed_order(self._day("2025-02-01"))
        Request = self.env["sales.service.request"]
        first = Request.create({"partner_id": self.customer_contact.id, "sale_order_id": order.id,
                        "request_type": "complaint", "description": "Scratched",
                        "user_id": self.salesman.id, "team_id": self.team.id})
        second = Request.create({"partner_id": self.customer.id, "request_type": "question",
                             "user_id": self.salesman.id, "team_id": self.team.id})
        for request, score in ((first, 5), (second, 2)):
            self.env["rating.rating"].create({
                "res_model_id": self.env["ir.model"]._get_id(request._name), "res_id": request.id,
                "partner_id": self.customer.id, "rating": score, "consumed": True,
            })
        (first | second).invalidate_recordset()
        self.assertEqual((first | second).mapped("rating"), [5, 2])
        self.env["res.partner"]._sd_insight_recompute(on_date=self._day("2025-04-01"))
        self.assertEqual(self.customer.insight_service_count, 2)
        self.assertEqual(self.customer.insight_rating_avg, 3.5)
        self.assertEqual(self.customer_contact.insight_service_count, 2)

    def test_segment_in_an_approval_rule(self):
        self._confirmed_order(self._day("2023-01-10"))
        self.env["res.partner"]._sd_insight_recompute()
        self.assertEqual(self.customer.rfm_segment, "lost")
        self.env["sales.document.approval.rule"].create({
            "name": "Lost customers come back through a manager",
            "domain": "[('partner_id.rfm_segment', '=', 'lost')]",
        })
        back = self._create_order()
        self.assertEqual(back.approval_state, "required")
        other = self._create_order(partner_id=self.other_customer.id, user_id=self.salesman_2.id)
        self.assertEqual(other.approval_state, "not_required")

    def test_partners_with_insight_merge(self):
        self._confirmed_order(self._day("2025-01-10"))
        self._confirmed_order(self._day("2025-01-20"), partner_id=self.other_customer.id,
                              user_id=self.salesman_2.id)
        self.env["res.partner"]._sd_insight_recompute(on_date=self._day("2025-04-01"))
        wizard = self.env["base.partner.merge.automatic.wizard"].create({})
        wizard._merge((self.customer | self.other_customer).ids, self.customer)
        self.assertFalse(self.other_customer.exists())
        self.assertTrue(self.customer.insight_date)

    def test_insight_is_not_writable(self):
        with self.assertRaises(AccessError):
            self.customer.with_user(self.salesman).write({"rfm_segment": "key"})
        with self.assertRaises(AccessError):
            self.customer.write({"insight_order_count": 99})
        with self.assertRaises(AccessError):
            self.env["res.partner"].create({"name": "Forged", "rfm_segment": "key"})
        with self.assertRaises(AccessError):
            self.env["res.partner"].with_user(self.salesman).action_recompute_insight()
