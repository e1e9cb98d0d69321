import base64
import io
import zipfile

from odoo.tests import tagged

from .common import AuditCase


@tagged("post_install", "-at_install")
class TestAuditReports(AuditCase):
    def setUp(self):
        super().setUp()
        self.order = self._create_order()
        self._commit_point()
        self.order.client_order_ref = "PO-42"
        self._commit_point()
        self.logs = self._logs(self.order)

    def test_history_on_the_document(self):
        auditor = self._create_user("sd_rep_auditor", "Rita Auditor", ["sales_document_audit.group_auditor"])
        order = self.order.with_user(auditor)
        self.assertEqual(order.audit_log_count, 2)
        action = order.action_open_audit_history()
        self.assertEqual(self.env["sales.document.audit.log"].with_user(auditor).search(action["domain"]), self.logs)
        html = str(self.logs[-1].changes_html)
        self.assertIn("PO-42", html)
        self.assertIn("Customer Reference", html)

    def test_spreadsheet_export_for_auditors(self):
        action = self.logs.action_export_xlsx()
        attachment = self.env["ir.attachment"].browse(int(action["url"].split("/")[3].split("?")[0]))
        content = base64.b64decode(attachment.datas)
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            shared = book.read("xl/sharedStrings.xml").decode()
        self.assertIn("PO-42", shared)
        self.assertIn(self.order.name, shared)

    def test_pdf_report(self):
        report = self.env.ref("sales_document_audit.sales_document_audit_log_report")
        html, _kind = self.env["ir.actions.report"]._render_qweb_html(report.report_name, self.logs.ids)
        self.assertIn(self.order.name, html.decode())
        self.assertIn("PO-42", html.decode())

    def test_verify_action_reports_the_result(self):
        self.Log._cron_seal()
        action = self.Log.action_verify_integrity()
        self.assertEqual(action["params"]["type"], "success")
