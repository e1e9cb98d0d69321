import logging

from odoo import sql_db
from odoo.tests import HttpCase, tagged
from odoo.tests.common import JsonRpcException
from odoo.tools import SQL

from .common import AuditCase


@tagged("post_install", "-at_install")
class TestAccessLogging(AuditCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = cls.env.ref("base.user_admin")
        cls.salesman.password = "sd_salesman-pw"

    def _call_kw(self, model, method, args, kwargs=None):
        self.env.flush_all()
        return self.make_jsonrpc_request(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        )

    def _committed_rows(self, query):
        """Rows committed by other transactions (the test transaction cannot see them)."""
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute(query)
            return cr.dictfetchall()

    def test_form_open_in_a_readonly_request_is_logged_without_retry(self):
        order = self._create_order()
        self.authenticate("admin", "admin")
        with self.assertNoLogs("odoo.http", level=logging.WARNING):
            result = self._call_kw("sale.order", "web_read", [order.ids], {"specification": {"name": {}}})
        self.assertEqual(result[0]["name"], order.name)
        rows = self._committed_rows(SQL(
            """SELECT operation, user_id, ip_address, device, user_agent FROM sales_document_audit_log
                WHERE res_model = 'sale.order' AND res_id = %s""",
            order.id,
        ))
        self.assertEqual(len(rows), 1, "written in a transaction of its own, outside the read-only one")
        self.assertEqual(rows[0]["operation"], "read")
        self.assertEqual(rows[0]["user_id"], self.admin.id)
        self.assertEqual(rows[0]["ip_address"], "127.0.0.1")
        self.assertTrue(rows[0]["user_agent"])
        self.assertFalse(self._logs(order, "read"), "nothing was written in the read-only transaction")

    def test_saving_a_form_logs_its_change_not_an_open(self):
        order, following = self._create_order(), self._create_order()
        self.authenticate("admin", "admin")
        spec = {"name": {}, "client_order_ref": {}}
        result = self._call_kw(
            "sale.order", "web_save", [order.ids, {"client_order_ref": "saved from the form"}],
            {"specification": spec},
        )
        self.assertEqual(result[0]["client_order_ref"], "saved from the form")
        self.assertEqual(len(self._logs(order, "write")), 1)
        self.assertFalse(self._logs(order, "read"), "reading the saved form back belongs to the save")
        # Saving, then moving on to the next record, opens that one.
        result = self._call_kw(
            "sale.order", "web_save", [order.ids, {"client_order_ref": "saved again"}],
            {"specification": spec, "next_id": following.id},
        )
        self.assertEqual(result[0]["name"], following.name)
        self.assertEqual(len(self._logs(order, "write")), 2)
        self.assertFalse(self._logs(order, "read"))
        opened = self._logs(following, "read")
        self.assertEqual(len(opened), 1)
        self.assertEqual(opened.user_id, self.admin)

    def test_list_views_are_counted_not_logged(self):
        orders = self._create_order() | self._create_order()
        self.authenticate("admin", "admin")
        # Summed over every day: the counter's day is the user's today, which
        # is not the database's CURRENT_DATE in every time zone, and the
        # request may fall on the next day (midnight).
        query = SQL(
            """SELECT COALESCE(SUM(list_count), 0) AS list_count, COALESCE(SUM(record_count), 0) AS record_count
                 FROM sales_document_audit_view_counter
                WHERE user_id = %s AND res_model = 'sale.order'""",
            self.admin.id,
        )
        before = self._committed_rows(query)
        self._call_kw("sale.order", "web_search_read", [[]], {"specification": {"name": {}}, "limit": 80})
        after = self._committed_rows(query)
        self.assertEqual(after[0]["list_count"], before[0]["list_count"] + 1)
        self.assertGreaterEqual(after[0]["record_count"] - before[0]["record_count"], 2)
        rows = self._committed_rows(SQL(
            "SELECT count(*) AS n FROM sales_document_audit_log WHERE res_model = 'sale.order' AND res_id IN %s",
            tuple(orders.ids),
        ))
        self.assertEqual(rows[0]["n"], 0, "a list view logs no row per record")

    def test_denied_form_open_in_a_readonly_request(self):
        foreign = self._create_order(partner_id=self.other_customer.id, user_id=self.salesman_2.id)
        self.authenticate("sd_salesman", "sd_salesman-pw")
        # Not assertRaises: its savepoint would roll back what the server wrote.
        try:
            self._call_kw("sale.order", "web_read", [foreign.ids], {"specification": {"name": {}}})
        except JsonRpcException as error:
            self.assertIn("AccessError", str(error.args) + error.__class__.__name__ + repr(error))
        else:
            self.fail("the salesperson must not open another salesperson's order")
        denied = self._logs(foreign, "denied")
        self.assertEqual(len(denied), 1)
        self.assertEqual(denied.user_id, self.salesman)
        self.assertEqual(denied.ip_address, "127.0.0.1")

    def test_print_and_export_are_logged(self):
        order = self._create_order()
        report = self.env.ref("sale.action_report_saleorder")
        # The superuser's own reads are not accesses worth logging: act as a real user.
        self.env = self.env(user=self.admin)
        self.env["ir.actions.report"]._render_qweb_pdf(report.report_name, order.ids)
        self.assertEqual(len(self._logs(order, "print")), 1)
        self.assertEqual(self._changes(self._logs(order, "print"))["report"], report.report_name)
        orders = (order | self._create_order()).with_env(self.env)
        orders.export_data(["name", "partner_id/name"])
        export = self.Log.search([
            ("operation", "=", "export"), ("res_model", "=", "sale.order"), ("res_id", "in", orders.ids),
        ])
        self.assertEqual(len(export), 1)
        changes = self._changes(export)
        self.assertEqual(changes["count"], 2)
        self.assertEqual(sorted(changes["ids"]), sorted(orders.ids))
        self.assertIn("partner_id/name", changes["fields"])
