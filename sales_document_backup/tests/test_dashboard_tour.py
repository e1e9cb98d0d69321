from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged

# A whole tour, page loads included, on a machine that may be busy with other work.
TOUR_TIMEOUT = 180


@tagged("post_install", "-at_install")
class TestDashboardTour(HttpCase):
    def test_dashboard_tour(self):
        """The dashboard shows the verified backup; a user drills down to its report."""
        company = self.env.ref("base.main_company")
        backup = self.env["sales.document.backup"].create({
            "name": "Tour backup", "kind": "full", "state": "done", "size": 5 * 1024 * 1024,
            "date": fields.Datetime.now() - timedelta(hours=3), "company_id": company.id,
        })
        self.env["sales.document.backup.restore.test"].create({
            "backup_id": backup.id, "state": "passed", "report": "PASSED: counts, amounts and document hashes match.",
        })
        dashboard = self.env["sales.document.backup.dashboard"].search([("company_id", "=", company.id)])
        self.assertEqual(dashboard.status, "ok", dashboard.status_message)
        self.start_tour("/odoo", "sales_document_backup_dashboard_tour", login="admin", timeout=TOUR_TIMEOUT)

    def test_dashboard_alerts_when_verified_backup_too_old(self):
        company = self.env.ref("base.main_company")
        backup = self.env["sales.document.backup"].create({
            "name": "Old backup", "kind": "full", "state": "done",
            "date": fields.Datetime.now() - timedelta(days=30), "company_id": company.id,
        })
        self.env["sales.document.backup.restore.test"].create({"backup_id": backup.id, "state": "passed"})
        dashboard = self.env["sales.document.backup.dashboard"].search([("company_id", "=", company.id)])
        self.assertEqual(dashboard.status, "danger")
        self.assertIn("days old", dashboard.status_message)
        alerted = self.env["sales.document.backup.dashboard"]._cron_check_verified_age()
        self.assertIn(dashboard, alerted)
        self.assertTrue(backup.activity_ids.filtered(lambda a: a.summary == "Backups need attention"))
