from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from ..models.sales_target import expected_pace, pace_state
from .common import InsightCase


@tagged("post_install", "-at_install")
class TestSalesTarget(InsightCase):
    def _target(self, **vals):
        values = {"user_id": self.salesman.id, "amount_target": 1000.0, "date_from": "2025-04-01"}
        values.update(vals)
        return self.env["sales.target"].create(values)

    def test_period_fills_the_dates(self):
        quarter = self._target(period="quarter", date_from="2025-05-17")
        self.assertEqual((str(quarter.date_from), str(quarter.date_to)), ("2025-04-01", "2025-06-30"))
        year = self._target(period="year", date_from="2024-05-17", basis="paid")
        self.assertEqual((str(year.date_from), str(year.date_to)), ("2024-01-01", "2024-12-31"))
        explicit = self._target(date_from="2025-07-01", date_to="2025-07-31", basis="confirmed")
        self.assertEqual(explicit.period, "month")
        custom = self._target(date_from="2025-08-03", date_to="2025-08-20", basis="confirmed")
        self.assertEqual(custom.period, "custom")

    def test_constraints(self):
        with self.assertRaises(ValidationError):
            self._target(period="custom", date_from="2025-04-10", date_to="2025-04-01")
        with self.assertRaises(ValidationError):
            self._target(user_id=False)
        with self.assertRaises(ValidationError):
            self._target(amount_target=-5)
        self._target()
        with self.assertRaises(ValidationError):
            self._target(period="custom", date_from="2025-04-20", date_to="2025-05-10")
        # Another basis, another salesperson or a team target may share the period.
        self._target(basis="paid")
        self._target(user_id=self.salesman_2.id)
        self._target(user_id=False, team_id=self.team.id)

    def test_pace(self):
        start, end = self._day("2025-04-01"), self._day("2025-04-30")
        self.assertEqual(expected_pace(start, end, self._day("2025-04-15")), 50.0)
        self.assertEqual(expected_pace(start, end, self._day("2025-03-01")), 0.0)
        self.assertEqual(expected_pace(start, end, self._day("2025-06-01")), 100.0)
        self.assertEqual(pace_state(30.0, 50.0, 10.0), "behind")
        self.assertEqual(pace_state(45.0, 50.0, 10.0), "on_track")
        self.assertEqual(pace_state(65.0, 50.0, 10.0), "ahead")
        target = self._target(basis="confirmed")
        self._confirmed_order(self._day("2025-04-05"))
        target._recompute(on_date=self._day("2025-04-15"))
        self.assertEqual(target.pace_expected, 50.0)
        self.assertEqual(target.amount_achieved, self._confirmed_amount(target))
        self.assertEqual(target.pace_state, "behind")
        target._recompute(on_date=self._day("2025-04-02"))
        self.assertEqual(target.pace_state, "ahead")

    def _confirmed_amount(self, target):
        rows = self.env["sales.document"].search([
            ("user_id", "=", target.user_id.id), ("doc_type", "=", "order"), ("state", "in", ("open", "done")),
            ("date", ">=", target.date_from), ("date", "<=", target.date_to),
        ])
        return sum(rows.mapped("amount_total"))

    def test_confirmed_basis_counts_orders_of_the_period(self):
        target = self._target(basis="confirmed", count_target=3)
        inside = self._confirmed_order(self._day("2025-04-10"))
        self._confirmed_order(self._day("2025-05-02"))
        self._create_order(date_order="2025-04-11 10:00:00")
        self._confirmed_order(self._day("2025-04-12"), user_id=self.salesman_2.id)
        target._recompute(on_date=self._day("2025-04-30"))
        self.assertEqual(target.amount_achieved, inside.amount_total)
        self.assertEqual(target.count_achieved, 1)
        self.assertEqual(target.live_amount, inside.amount_total)

    def test_team_target_counts_the_team(self):
        target = self._target(user_id=False, team_id=self.team.id, basis="confirmed")
        mine = self._confirmed_order(self._day("2025-04-10"), team_id=self.team.id)
        self._confirmed_order(self._day("2025-04-10"), user_id=self.salesman_2.id)
        target._recompute(on_date=self._day("2025-04-30"))
        self.assertEqual(target.amount_achieved, mine.amount_total)

    def test_forecast_weighs_open_quotations(self):
        self.env["ir.config_parameter"].set_param("sales_document_insight.quotation_weight", "25")
        target = self._target(basis="confirmed")
        order = self._confirmed_order(self._day("2025-04-10"))
        quotation = self._create_order(date_order="2025-04-11 10:00:00")
        target._recompute(on_date=self._day("2025-04-15"))
        expected = order.amount_total + quotation.amount_total * 0.25
        self.assertAlmostEqual(target.forecast_amount, expected)
        # An invoiced-basis target weighs the same open quotations.
        invoiced = self._target(basis="invoiced")
        invoiced._recompute(on_date=self._day("2025-04-15"))
        self.assertAlmostEqual(invoiced.forecast_amount, quotation.amount_total * 0.25)
        if "crm.lead" in self.env:
            # With CRM, open opportunities of the period count at their probability.
            self.env["crm.lead"].create({
                "name": "Big deal", "type": "opportunity", "user_id": self.salesman.id,
                "expected_revenue": 1000.0, "probability": 30.0, "date_deadline": "2025-04-25",
            })
            target._recompute(on_date=self._day("2025-04-15"))
            self.assertAlmostEqual(target.forecast_amount, expected + 300.0)

    def test_behind_warns_once(self):
        target = self._target(team_id=self.team.id, amount_target=100000.0)
        on_date = self._day("2025-04-20")
        self.env["sales.target"]._cron_measure(on_date=on_date)
        activities = target.activity_ids
        self.assertEqual(target.pace_state, "behind")
        self.assertEqual(set(activities.mapped("user_id").ids), {self.salesman.id, self.leader.id})
        self.env["sales.target"]._cron_measure(on_date=self._day("2025-04-21"))
        self.assertEqual(target.activity_ids, activities, "one warning, not one per night")

    def test_measured_figures_are_not_writable(self):
        target = self._target()
        with self.assertRaises(AccessError):
            target.write({"amount_achieved": 5000.0})
        with self.assertRaises(AccessError):
            target.with_context(sales_target_results=True).write({"pace_state": "ahead"})
        with self.assertRaises(AccessError):
            self._target(basis="paid", amount_achieved=10.0)
