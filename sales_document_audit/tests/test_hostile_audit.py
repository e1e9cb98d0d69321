"""A hostile client over XML-RPC: forged context keys, protected rows,
reads through other models, reassigned customers and mass reads."""

import json
import xmlrpc.client

from odoo import Command
from odoo.tests import HttpCase, tagged
from odoo.tools import SQL

from .common import AuditCase

ACCESS_ERROR = 4  # AccessError: refused by an access right or a record rule
BUSINESS_ERROR = 2  # UserError / ValidationError: refused by a business check
DONE, RULE, BUSINESS = "done", "refused by a rule", "refused by a business check"


@tagged("post_install", "-at_install")
class TestHostileAudit(AuditCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.accountant = cls._create_user("sd_h_accountant", "Hal Accountant", ["account.group_account_invoice"])
        cls.auditor = cls._create_user("sd_h_auditor", "Hana Auditor", ["sales_document_audit.group_auditor"])
        cls.officer = cls._create_user(
            "sd_h_officer", "Hugo Officer", ["sales_document_audit.group_security_officer"]
        )
        cls.roles = {
            "salesman": cls.salesman,
            "manager": cls.sales_manager,
            "accountant": cls.accountant,
            "auditor": cls.auditor,
            "officer": cls.officer,
        }
        for user in cls.roles.values():
            user.password = f"{user.login}-pw"
        cls.Alert = cls.env["sales.document.audit.alert"]

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    def _call(self, user, model, method, args, kwargs=None):
        """``(outcome, result or fault text)`` of one XML-RPC call as ``user``."""
        self.env.flush_all()
        try:
            result = self.xmlrpc_object.execute_kw(
                self.env.cr.dbname, user.id, f"{user.login}-pw", model, method, args, kwargs or {}
            )
        except xmlrpc.client.Fault as fault:
            if fault.faultCode == ACCESS_ERROR:
                return RULE, fault.faultString
            if fault.faultCode == BUSINESS_ERROR:
                return BUSINESS, fault.faultString
            self.fail(f"{user.login} {model}.{method}: unexpected server error {fault.faultString}")
        finally:
            self.env.invalidate_all()
        return DONE, result

    def _assert_refused(self, user, model, method, args, kwargs=None, outcome=RULE):
        got, text = self._call(user, model, method, args, kwargs)
        self.assertEqual(got, outcome, f"{user.login} {model}.{method}: {text}")
        return text

    def _assert_done(self, user, model, method, args, kwargs=None):
        got, result = self._call(user, model, method, args, kwargs)
        self.assertEqual(got, DONE, f"{user.login} {model}.{method}: {result}")
        return result

    def _others(self):
        """A confirmed, delivered and invoiced order of another salesperson's customer."""
        order = self._create_order(partner_id=self.other_customer.id, user_id=self.salesman_2.id)
        order.action_confirm()
        self._deliver(order)
        invoice = self._invoice(order)
        return order, invoice

    def _own(self):
        order = self._create_order()
        order.action_confirm()
        return order

    # ------------------------------------------------------------------
    # Context keys sent by the client change nothing in the trail
    # ------------------------------------------------------------------

    def test_install_mode_context_still_audits(self):
        order = self._create_order()
        self._commit_point()
        before = self._logs(order)
        self._assert_done(
            self.salesman, "sale.order", "write", [order.ids, {"client_order_ref": "no trace please"}],
            {"context": {"install_mode": True}},
        )
        self._commit_point()
        rows = self._logs(order) - before
        self.assertEqual(len(rows), 1, "the write is in the trail whatever the context says")
        self.assertEqual(rows.user_id, self.salesman)
        self.assertEqual(self._changes(rows)["fields"]["client_order_ref"], [False, "no trace please"])

    def test_annotation_context_key_puts_no_client_text_in_the_trail(self):
        order = self._create_order()
        self._commit_point()
        before = self._logs(order)
        forged = {"restored_from": {"journal_entry_id": 999999, "note": "FORGED-BY-CLIENT"}}
        self._assert_done(
            self.salesman, "sale.order", "write", [order.ids, {"client_order_ref": "real change"}],
            {"context": {"sales_document_audit_annotation": forged}},
        )
        self._commit_point()
        rows = self._logs(order) - before
        self.assertEqual(len(rows), 1)
        self.assertNotIn("FORGED-BY-CLIENT", rows.changes)
        self.assertEqual(set(self._changes(rows)), {"fields"})
        # The server-side API is private: not callable over RPC.
        self._assert_refused(self.salesman, "sale.order", "_sd_audit_annotate", [order.ids, forged])
        self._commit_point()
        self.assertFalse(self._logs(order) - before - rows)

    def test_annotation_api_of_server_code(self):
        order = self._create_order()
        annotation = {"restored_from": {"journal_entry_id": 7, "mode": "draft"}}
        # After the create: the create row carries it.
        order._sd_audit_annotate(annotation)
        self._commit_point()
        (row,) = self._logs(order)
        self.assertEqual(row.operation, "create")
        self.assertEqual(self._changes(row)["restored_from"], annotation["restored_from"])
        # Before the writes of the transaction: one write row with both.
        order._sd_audit_annotate({"restored_from": {"journal_entry_id": 8, "mode": "in_place"}})
        order.order_line[:1]._sd_audit_annotate({"note": "line"})
        order.client_order_ref = "restored"
        self._commit_point()
        row = self._logs(order, "write")
        changes = self._changes(row)
        self.assertEqual(changes["restored_from"]["journal_entry_id"], 8)
        self.assertEqual(changes["note"], "line", "a line annotates its document")
        self.assertEqual(changes["fields"]["client_order_ref"], [False, "restored"])
        with self.assertRaises(ValueError):
            order._sd_audit_annotate({"fields": {}})
        with self.assertRaises(TypeError):
            order._sd_audit_annotate("text")

    # ------------------------------------------------------------------
    # Least privilege: verification, checkpoints, trail rows, alerts
    # ------------------------------------------------------------------

    def test_verify_and_export_only_for_auditors(self):
        self._create_order()
        self._commit_point()
        self.Log._cron_seal()
        for user in (self.salesman, self.sales_manager, self.accountant):
            for model, method, args in (
                ("sales.document.audit.log", "verify_integrity", []),
                ("sales.document.audit.log", "action_verify_integrity", [[]]),
                ("sales.document.audit.checkpoint", "export_checkpoints", []),
            ):
                text = self._assert_refused(user, model, method, args)
                self.assertIn("auditors", text)
        for user in (self.auditor, self.officer):
            result = self._assert_done(user, "sales.document.audit.log", "verify_integrity", [self.company.id])
            self.assertEqual(set(result) & {"ok", "checked", "first_broken_id"}, {"ok", "checked", "first_broken_id"})
            self.assertTrue(result["ok"])
            self.assertGreater(result["checked"], 0)
            exported = json.loads(self._assert_done(user, "sales.document.audit.checkpoint", "export_checkpoints", []))
            self.assertTrue(exported["checkpoints"])
            self.assertEqual({cp["company_id"] for cp in exported["checkpoints"]}, {self.company.id})
            action = self._assert_done(user, "sales.document.audit.log", "action_verify_integrity", [[]])
            self.assertEqual(action["tag"], "display_notification")
        # Not for a company the auditor does not belong to.
        other_company = self.env["res.company"].create({"name": "Elsewhere Ltd."})
        self._assert_refused(self.auditor, "sales.document.audit.log", "verify_integrity", [other_company.id])
        self._assert_refused(self.auditor, "sales.document.audit.checkpoint", "export_checkpoints", [other_company.id])

    def test_no_role_changes_trail_checkpoints_or_alert_evidence(self):
        order = self._create_order()
        self._commit_point()
        checkpoint = self.Log._cron_seal()[:1]
        log = self._logs(order)[:1]
        alert = self.Alert.sudo().create({
            "rule": "denied", "user_id": self.salesman_2.id, "res_model": "sale.order", "res_id": order.id,
            "res_name": order.name, "company_id": self.company.id, "details": "evidence",
        })
        self._commit_point()
        snapshot = (log.read()[0], checkpoint.read()[0], alert.read(["rule", "user_id", "details", "state"])[0])
        for role, user in self.roles.items():
            for model, record, vals in (
                ("sales.document.audit.log", log, {"changes": "{}", "user_id": user.id}),
                ("sales.document.audit.checkpoint", checkpoint, {"hash": "0" * 64}),
                ("sales.document.audit.alert", alert, {"details": "nothing to see", "user_id": user.id}),
            ):
                for method, args in (("write", [record.ids, vals]), ("unlink", [record.ids])):
                    outcome, text = self._call(user, model, method, args)
                    self.assertNotEqual(outcome, DONE, f"{role} {model}.{method} must be refused")
                    self.assertTrue(text)
            self.assertNotEqual(
                self._call(user, "sales.document.audit.alert", "create", [[{"rule": "denied"}]])[0], DONE,
                f"{role} creates no alert",
            )
        self.env.invalidate_all()
        self.assertEqual(
            (log.read()[0], checkpoint.read()[0], alert.read(["rule", "user_id", "details", "state"])[0]), snapshot,
            "nothing changed",
        )
        # Officers handle alerts: their state only.
        self.assertTrue(self._assert_done(self.officer, "sales.document.audit.alert", "action_acknowledge", [alert.ids]))
        self.assertEqual(alert.state, "acknowledged")

    def test_no_role_forges_anchors_or_exports(self):
        import os
        import shutil
        import tempfile

        from odoo.tools import config

        from ..lib import signing

        directory = tempfile.mkdtemp(prefix="sda-hostile-")
        self.addCleanup(shutil.rmtree, directory, True)
        signing.generate_key_pair(os.path.join(directory, "k.pem"), os.path.join(directory, "k.pub"))
        for name, value in (("sales_audit_signing_key", os.path.join(directory, "k.pem")),
                            ("sales_audit_anchor_dir", os.path.join(directory, "anchors"))):
            self.addCleanup(config.options.__setitem__, name, config.options.get(name))
            config.options[name] = value
        self._create_order()
        self._commit_point()
        checkpoints = self.Log._cron_seal()
        self.env["sales.document.audit.checkpoint"]._sd_anchor_pending(checkpoints.ids)
        checkpoint = checkpoints.filtered(lambda cp: cp.company_id == self.company)[:1]
        anchor = checkpoint.anchor_ids
        self.assertTrue(anchor)
        export = self.env["sales.document.audit.export"]._export_trail()
        self._commit_point()
        snapshot = (anchor.read()[0], export.read()[0], checkpoint.read(["signature", "key_fingerprint"])[0])
        for role, user in self.roles.items():
            for model, record, vals in (
                ("sales.document.audit.anchor", anchor, {"store": "local:/elsewhere", "reference": "forged"}),
                ("sales.document.audit.export", export, {"verified": True, "last_log_id": 10 ** 9}),
                ("sales.document.audit.checkpoint", checkpoint, {"signature": "forged", "key_fingerprint": "x"}),
            ):
                for method, args in (
                    ("create", [[dict(vals, checkpoint_id=checkpoint.id)]] if model.endswith("anchor") else [[vals]]),
                    ("write", [record.ids, vals]),
                    ("unlink", [record.ids]),
                ):
                    outcome, text = self._call(user, model, method, args)
                    self.assertNotEqual(outcome, DONE, f"{role} {model}.{method} must be refused")
                    self.assertTrue(text)
            if role != "officer":
                self._assert_refused(user, "sales.document.audit.export", "action_export_trail", [])
        self.env.invalidate_all()
        self.assertEqual(
            (anchor.read()[0], export.read()[0], checkpoint.read(["signature", "key_fingerprint"])[0]), snapshot,
            "nothing changed",
        )
        action = self._assert_done(self.officer, "sales.document.audit.export", "action_export_trail", [])
        self.assertTrue(self.env["sales.document.audit.export"].browse(action["res_id"]).exists())

    # ------------------------------------------------------------------
    # Own customers: no read through other models
    # ------------------------------------------------------------------

    def test_stock_moves_and_reports_of_other_customers_read_nothing(self):
        others, other_invoice = self._others()
        own = self._own()
        # Odoo's own analysis rule shows unassigned orders to every salesperson.
        self._create_order(partner_id=self.other_customer.id, user_id=False)
        moves = others.order_line.move_ids
        self.assertTrue(moves and moves.move_line_ids)
        for model, domain in (
            ("stock.move", [("id", "in", moves.ids)]),
            ("stock.move", [("partner_id", "=", self.other_customer.id)]),
            ("stock.move", [("sale_line_id.order_id", "=", others.id)]),
            ("stock.move.line", [("id", "in", moves.move_line_ids.ids)]),
            ("stock.move.line", [("picking_id.partner_id", "=", self.other_customer.id)]),
            ("sale.report", [("partner_id", "=", self.other_customer.id)]),
            ("sale.report", [("user_id", "=", self.salesman_2.id)]),
        ):
            self.assertEqual(
                self._assert_done(self.salesman, model, "search_read", [domain], {"fields": ["id"]}), [],
                f"{model} {domain}",
            )
            groups = self._assert_done(
                self.salesman, model, "read_group", [domain, ["__count"], ["product_id"]], {"lazy": False}
            )
            self.assertEqual(groups, [], f"{model} {domain} grouped")
        # The invoice analysis is not for salespeople at all.
        self._assert_refused(
            self.salesman, "account.invoice.report", "search_read", [[("move_id", "=", other_invoice.id)]],
            {"fields": ["id"]},
        )
        self._assert_refused(self.salesman, "stock.move", "read", [moves.ids], {"fields": ["product_uom_qty"]})
        # Their own customers' moves and analysis rows are there: the rules hide only others'.
        own_moves = self._assert_done(
            self.salesman, "stock.move", "search_read", [[("sale_line_id.order_id", "=", own.id)]], {"fields": ["id"]}
        )
        self.assertEqual({row["id"] for row in own_moves}, set(own.order_line.move_ids.ids))
        own_report = self._assert_done(
            self.salesman, "sale.report", "search_read", [[("order_reference", "=", f"sale.order,{own.id}")]],
            {"fields": ["id"]},
        )
        self.assertTrue(own_report)
        users = {
            group["user_id"][0]
            for group in self._assert_done(
                self.salesman, "sale.report", "read_group", [[], ["price_total:sum"], ["user_id"]], {"lazy": False}
            )
            if group["user_id"]
        }
        self.assertNotIn(self.salesman_2.id, users, "aggregates count no colleague's sales")
        # The product's forecast still counts every customer's moves.
        pending = self._create_order(partner_id=self.other_customer.id, user_id=self.salesman_2.id)
        pending.action_confirm()
        self.env.flush_all()
        self.env.invalidate_all()
        expected = self.product.virtual_available
        self.env.invalidate_all()  # the field's cache does not depend on the user
        self.assertEqual(self.product.with_user(self.salesman).virtual_available, expected)

    def test_related_paths_and_exports_do_not_leak(self):
        others, _invoice = self._others()
        own = self._own()
        moves = others.order_line.move_ids
        path = ["sale_line_id/order_id/amount_total"]
        # Companies that let their salespeople export at all.
        self.salesman.groups_id = [Command.link(self.env.ref("base.group_allow_export").id)]
        self._assert_refused(self.salesman, "stock.move", "export_data", [moves.ids, path])
        self._assert_refused(self.salesman, "stock.move.line", "export_data", [moves.move_line_ids.ids, ["move_id/sale_line_id/order_id/name"]])
        self._assert_refused(self.salesman, "sale.order", "export_data", [others.ids, ["name", "amount_total"]])
        rows = self._assert_done(
            self.salesman, "stock.move", "search_read",
            [[("sale_line_id.order_id.amount_total", ">", 0), ("sale_line_id.order_id.partner_id", "=", self.other_customer.id)]],
            {"fields": ["sale_line_id"]},
        )
        self.assertEqual(rows, [])
        exported = self._assert_done(self.salesman, "stock.move", "export_data", [own.order_line.move_ids.ids, path])
        self.assertEqual(len(exported["datas"]), len(own.order_line.move_ids))
        self.assertFalse(self.Log.search([("operation", "=", "export"), ("res_id", "in", others.ids)]))

    # ------------------------------------------------------------------
    # Reassigning a customer is a manager's act, and audited
    # ------------------------------------------------------------------

    def test_salesperson_cannot_reassign_customers(self):
        self.other_customer.child_ids = [(0, 0, {"name": "Gina Globex", "type": "contact"})]
        for vals, partner in (
            ({"user_id": self.salesman.id}, self.other_customer),
            ({"user_id": self.salesman_2.id}, self.customer),
            ({"parent_id": self.customer.id, "is_company": False}, self.other_customer),
            ({"parent_id": self.customer.id}, self.other_customer.child_ids),
        ):
            before = partner.read(["user_id", "parent_id", "commercial_partner_id"])
            text = self._assert_refused(self.salesman, "res.partner", "write", [partner.ids, vals])
            self.assertIn("sales manager", text)
            self.assertEqual(partner.read(["user_id", "parent_id", "commercial_partner_id"]), before)
        self._commit_point()
        self.assertFalse(self._logs(self.other_customer))
        # Unrelated changes of a customer stay possible.
        self._assert_done(self.salesman, "res.partner", "write", [self.customer.ids, {"phone": "+86 10 1234"}])
        # A sales manager reassigns; the trail says who gave whom to whom.
        self._assert_done(self.sales_manager, "res.partner", "write", [self.other_customer.ids, {"user_id": self.salesman.id}])
        self.assertEqual(self.other_customer.user_id, self.salesman)
        row = self._logs(self.other_customer)
        self.assertEqual(len(row), 1)
        self.assertEqual(row.user_id, self.sales_manager)
        self.assertEqual(row.operation, "write")
        self.assertEqual(
            self._changes(row)["fields"]["user_id"],
            [[self.salesman_2.id, self.salesman_2.name], [self.salesman.id, self.salesman.name]],
        )

    # ------------------------------------------------------------------
    # Reads over RPC are counted and a mass read raises the alert
    # ------------------------------------------------------------------

    def test_mass_read_over_rpc_is_logged_and_alerts(self):
        self.company.audit_export_limit = 3
        orders = self.env["sale.order"]
        for _i in range(5):
            orders |= self._create_order()
        self._commit_point()
        self.Alert._cron_detect()
        counter = self.env["sales.document.audit.view.counter"]
        domain = [("user_id", "=", self.salesman.id), ("res_model", "=", "sale.order")]
        calls_before = sum(counter.search(domain).mapped("list_count"))
        # Small reads: counted, not logged.
        self._assert_done(self.salesman, "sale.order", "read", [orders[:2].ids], {"fields": ["name"]})
        self._assert_done(
            self.salesman, "sale.order", "read_group", [[("id", "in", orders.ids)], ["amount_total:sum"], ["partner_id"]]
        )
        self.assertFalse(self.Log.search([("user_id", "=", self.salesman.id), ("operation", "=", "read")]))
        # A mass read: one row for the whole call, and the alert.
        rows = self._assert_done(
            self.salesman, "sale.order", "search_read", [[("id", "in", orders.ids)]], {"fields": ["name", "amount_total"]}
        )
        self.assertEqual(len(rows), 5)
        counter.invalidate_model()
        self.assertEqual(sum(counter.search(domain).mapped("list_count")), calls_before + 3)
        logged = self.Log.search([("user_id", "=", self.salesman.id), ("operation", "=", "read")])
        self.assertEqual(len(logged), 1, "one row per call, not per record")
        changes = self._changes(logged)
        self.assertEqual((changes["method"], changes["count"]), ("search_read", 5))
        self.assertEqual(sorted(changes["ids"]), sorted(orders.ids))
        alert = self.Alert._cron_detect().filtered(lambda a: a.rule == "mass_export")
        self.assertEqual(len(alert), 1)
        self.assertEqual(alert.user_id, self.salesman)

    def test_users_and_companies_the_trail_names_stay(self):
        """The trail names users and companies without foreign keys: deleting one it names is
        refused (unsealed rows and sealed ones), with a clear error and nothing deleted."""
        self.env.cr.execute(SQL(
            """SELECT att.attname FROM pg_constraint con
                 JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = con.conkey[1]
                WHERE con.conrelid = 'sales_document_audit_log'::regclass AND con.contype = 'f'"""
        ))
        self.assertEqual([row[0] for row in self.env.cr.fetchall()], ["checkpoint_id"])
        admin = self.env.ref("base.user_admin")
        admin.password = f"{admin.login}-pw"
        writer = self._create_user("sd_h_writer", "Wanda Writer", ["sales_team.group_sale_salesman_all_leads"])
        idle = self._create_user("sd_h_idle", "Ivan Idle", ["sales_team.group_sale_salesman"])
        order = self._create_order()
        self._commit_point()
        order.with_user(writer).write({"client_order_ref": "written by Wanda"})
        self._commit_point()
        self.assertEqual(self._logs(order).mapped("user_id")[-1:], writer)
        # A company named by an unsealed row only (its own documents would need a whole setup).
        company = self.env["res.company"].create({"name": "Audited Subsidiary"})
        Log = self.Log.sudo()
        row = Log._prepare_log_vals(
            Log._prepare_log_shared_vals(), "sale.order", order.id, "write", {"fields": {}},
            res_name=order.name, company_id=company.id,
        )
        Log._insert_rows(self.env.cr, [row])
        for sealed in (False, True):
            if sealed:
                # Named by its checkpoint only now.
                self.Log._cron_seal()
                company_rows = self.Log.with_context(active_test=False).search([("company_id", "=", company.id)])
                self.assertTrue(company_rows)
                self.assertTrue(all(company_rows.mapped("hash")))
            text = self._assert_refused(admin, "res.users", "unlink", [writer.ids], outcome=BUSINESS)
            self.assertIn("Wanda Writer", text)
            self.assertIn("Archive the user instead", text)
            text = self._assert_refused(admin, "res.company", "unlink", [company.ids], outcome=BUSINESS)
            self.assertIn("audit trail records documents of Audited Subsidiary", text)
            self.assertTrue(writer.exists() and company.exists())
        # Both refused together, and a user the trail does not name goes.
        self._assert_refused(admin, "res.users", "unlink", [(writer | idle).ids], outcome=BUSINESS)
        self.assertTrue(idle.exists())
        self._assert_done(admin, "res.users", "unlink", [idle.ids])
        self.assertFalse(idle.exists())
