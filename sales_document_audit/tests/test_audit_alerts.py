from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import AuditCase


@tagged("post_install", "-at_install")
class TestAuditAlerts(AuditCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Alert = cls.env["sales.document.audit.alert"]
        cls.officer = cls._create_user(
            "sd_alert_officer", "Olga Officer", ["sales_document_audit.group_security_officer"]
        )
        # Start detection after everything created so far.
        cls.env.flush_all()
        cls.env.cr.flush()
        cls.Alert._cron_detect()

    def _detect(self):
        self._commit_point()
        return self.Alert._cron_detect()

    def test_frequent_access_to_one_document(self):
        self.company.audit_frequency_limit = 3
        order = self._create_order()
        self._detect()
        for _i in range(4):
            order.with_user(self.salesman).web_read({"name": {}})
        alerts = self._detect()
        alert = alerts.filtered(lambda a: a.rule == "frequent_access")
        self.assertEqual(len(alert), 1)
        self.assertEqual(alert.user_id, self.salesman)
        self.assertEqual((alert.res_model, alert.res_id), ("sale.order", order.id))
        self.assertIn(self.officer, alert.activity_ids.user_id)
        self.assertIn(self.officer.partner_id, alert.message_ids.partner_ids)
        order.with_user(self.salesman).web_read({"name": {}})
        self.assertFalse(self._detect().filtered(lambda a: a.rule == "frequent_access"), "no duplicate alert")

    def test_below_thresholds_no_alert(self):
        self.company.audit_frequency_limit = 10
        order = self._create_order()
        order.with_user(self.salesman).web_read({"name": {}})
        self.assertFalse(self._detect())

    def test_attempt_on_another_salespersons_customer(self):
        foreign = self._create_order(partner_id=self.other_customer.id, user_id=self.salesman_2.id)
        self._commit_point()
        # No savepoint around the attempt: its rollback would drop the pending row.
        try:
            foreign.with_user(self.salesman).read(["name"])
        except AccessError:
            pass
        else:
            self.fail("the salesperson must not read another salesperson's order")
        alert = self._detect().filtered(lambda a: a.rule == "denied")
        self.assertEqual(len(alert), 1)
        self.assertEqual(alert.user_id, self.salesman)
        self.assertEqual(alert.res_id, foreign.id)

    def test_mass_export(self):
        self.company.audit_export_limit = 1
        orders = self._create_order() | self._create_order()
        self._detect()
        admin = self.env.ref("base.user_admin")
        orders.with_user(admin).export_data(["name"])
        alert = self._detect().filtered(lambda a: a.rule == "mass_export")
        self.assertEqual(len(alert), 1)
        self.assertEqual(alert.user_id, admin)

    def test_off_hours_activity(self):
        self.company.write({
            "audit_off_hours_enabled": True, "audit_office_hour_start": 0.0, "audit_office_hour_end": 0.0,
        })
        self._create_order(user=self.salesman)
        alert = self._detect().filtered(lambda a: a.rule == "off_hours")
        self.assertEqual(len(alert), 1, "one off-hours alert per user and day")
        self.assertEqual(alert.user_id, self.salesman)
        self.company.write({"audit_office_hour_start": 0.0, "audit_office_hour_end": 24.0})
        self._create_order(user=self.salesman_2, partner_id=self.other_customer.id, user_id=self.salesman_2.id)
        self.assertFalse(self._detect().filtered(lambda a: a.rule == "off_hours"))

    def test_edit_after_validation(self):
        order = self._create_order()
        order.action_confirm()
        self._detect()
        order.client_order_ref = "changed after confirmation"
        alert = self._detect().filtered(lambda a: a.rule == "edit_after_validation")
        self.assertEqual(len(alert), 1)
        self.assertEqual(alert.res_id, order.id)
        self.assertIn("client_order_ref", alert.details)

    def test_posting_and_payment_raise_no_edit_alert(self):
        self._detect()
        order, invoice, _payment = self._full_flow()
        alerts = self._detect().filtered(lambda a: a.rule == "edit_after_validation")
        self.assertFalse(alerts, alerts.mapped("details"))

    def test_alerts_are_audited(self):
        self.company.audit_frequency_limit = 1
        order = self._create_order()
        order.with_user(self.salesman).web_read({"name": {}})
        order.with_user(self.salesman).web_read({"name": {}})
        alert = self._detect()[:1]
        self.assertTrue(alert)
        alert.with_user(self.officer).action_acknowledge()
        self._commit_point()
        logs = self._logs(alert)
        self.assertEqual(logs.mapped("operation"), ["create", "write"])
        self.assertEqual(self._changes(logs[1])["fields"]["state"], ["new", "acknowledged"])
