"""A hostile client over XML-RPC and JSON-RPC against the backup addon.

Backup Administrators, Backup Viewers, a salesperson and the administrator
call the public methods an integration would, and try to steer the backup
process: process fields written, created or imported by hand, destinations
outside the allowed roots, retention aimed at a file the addon did not write,
another company's S3 credentials, tokens read from journal snapshots.
"""

import json
import os
import shutil
import socket
import tempfile
import xmlrpc.client
from datetime import datetime, timedelta
from unittest.mock import patch

from odoo import Command, fields
from odoo.tests import HttpCase, TransactionCase, tagged

from odoo.addons.sales_document_registry.tests.common import SalesDocumentCase

from ..lib import storage
from .common import BackupConfigMixin

ACCESS_ERROR = 4  # XML-RPC fault code of an AccessError (odoo.addons.base.controllers.rpc)
USER_ERROR = 2  # ... of a UserError / ValidationError


class FakeS3Storage:
    """Stands in for the S3 client: records the credentials it is given."""

    given = []

    def __init__(self, bucket, credentials=None, **_kwargs):
        self.bucket = bucket
        FakeS3Storage.given.append(dict(credentials or {}))

    def describe(self):
        return f"s3/{self.bucket}"

    def check(self):
        return True


@tagged("post_install", "-at_install")
class TestHostileBackup(BackupConfigMixin, SalesDocumentCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.destination, cls.backup_dir, _private, _public = cls._set_up_local_backup(
            "hostile", "hostile_disk", "Hostile disk", detached="0"
        )
        manager, viewer = "sales_document_backup.group_backup_manager", "sales_document_backup.group_backup_user"
        cls.backup_admin = cls._create_user("sd_backup_admin", "Bea Backup", ["base.group_user", manager])
        cls.backup_viewer = cls._create_user("sd_backup_viewer", "Vic Viewer", ["base.group_user", viewer])
        cls.admin = cls.env.ref("base.user_admin")
        for user in (cls.backup_admin, cls.backup_viewer, cls.salesman, cls.admin):
            user.password = f"{user.login}-pw"
        Backup = cls.env["sales.document.backup"]
        # Made by the server (as the scheduled jobs would): a done backup
        # with its copy, a failed one, a journal entry.
        cls.done_backup = Backup.create({
            "name": "Done", "kind": "full", "state": "done", "date": datetime(2026, 3, 1, 3, 0),
        })
        cls.done_copy = cls.env["sales.document.backup.copy"].create({
            "backup_id": cls.done_backup.id, "destination_id": cls.destination.id,
            "object_name": cls.done_backup._get_own_object_name(),
            "location": cls.destination._get_storage().describe(), "state": "done",
        })
        cls.failed_backup = Backup.create({"name": "Failed", "kind": "full", "state": "failed"})

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    def _xmlrpc(self, user, model, method, args, kwargs=None):
        """Call ``model.method`` over XML-RPC as ``user``; returns the answer (faults propagate)."""
        self.env.flush_all()
        try:
            return self.xmlrpc_object.execute_kw(
                self.env.cr.dbname, user.id, f"{user.login}-pw", model, method, args, kwargs or {}
            )
        finally:
            self.env.invalidate_all()

    def _refused(self, code, user, model, method, args, kwargs=None):
        """Assert the call is refused with fault ``code``; returns the fault message."""
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            self._xmlrpc(user, model, method, args, kwargs)
        self.assertEqual(caught.exception.faultCode, code, caught.exception.faultString)
        return caught.exception.faultString

    def _jsonrpc(self, user, model, method, args, kwargs=None):
        """Same over JSON-RPC (``/jsonrpc``); returns the decoded body."""
        self.env.flush_all()
        payload = {
            "jsonrpc": "2.0", "method": "call", "id": 1,
            "params": {"service": "object", "method": "execute_kw", "args": [
                self.env.cr.dbname, user.id, f"{user.login}-pw", model, method, args, kwargs or {},
            ]},
        }
        try:
            response = self.url_open(
                "/jsonrpc", data=json.dumps(payload), headers={"Content-Type": "application/json"}, timeout=120
            )
            return response.json()
        finally:
            self.env.invalidate_all()

    def _assert_window_action(self, action, model):
        self.assertIsInstance(action, dict)
        self.assertEqual(action["type"], "ir.actions.act_window")
        self.assertEqual(action["res_model"], model)
        record = self.env[model].browse(action["res_id"]).exists()
        self.assertTrue(record, "res_id names an existing record")
        return record

    # ------------------------------------------------------------------
    # Public methods answer over RPC
    # ------------------------------------------------------------------

    def test_backup_now_answers_an_action_over_xmlrpc(self):
        action = self._xmlrpc(
            self.backup_admin, "sales.document.backup.destination", "action_backup_now", [self.destination.ids]
        )
        backup = self._assert_window_action(action, "sales.document.backup")
        self.assertEqual(backup.state, "done", backup.error)
        self.assertEqual(backup.create_uid, self.backup_admin, "the backup process ran as the caller")
        self.assertEqual(backup.copy_ids.mapped("state"), ["done"])
        self.assertEqual(backup.copy_ids.location, self.destination._get_storage().describe())
        self.assertTrue(os.path.exists(os.path.join(self.backup_dir, backup.copy_ids.object_name)))
        # The form button answers the same way.
        opened = self._xmlrpc(
            self.admin, "sales.document.backup", "action_restore_test_open", [self.failed_backup.ids]
        )
        self._assert_window_action(opened, "sales.document.backup.restore.test")

    def test_restore_test_answers_an_action_over_xmlrpc_and_jsonrpc(self):
        action = self._xmlrpc(
            self.backup_admin, "sales.document.backup", "action_restore_test", [self.failed_backup.ids]
        )
        test = self._assert_window_action(action, "sales.document.backup.restore.test")
        self.assertEqual(test.backup_id, self.failed_backup)
        self.assertEqual(test.state, "failed")
        self.assertIn("only a successful full backup", test.report)
        body = self._jsonrpc(self.backup_admin, "sales.document.backup", "action_restore_test", [self.failed_backup.ids])
        self.assertNotIn("error", body, body.get("error"))
        second = self._assert_window_action(body["result"], "sales.document.backup.restore.test")
        self.assertNotEqual(second, test)

    def test_backup_now_answers_an_action_over_jsonrpc(self):
        # Detached: the backup process would start after the commit (never, in a test).
        self._set_option("detached", "1")
        body = self._jsonrpc(self.backup_admin, "sales.document.backup.destination", "action_backup_now",
                             [self.destination.ids])
        self.assertNotIn("error", body, body.get("error"))
        backup = self._assert_window_action(body["result"], "sales.document.backup")
        self.assertEqual(backup.state, "running")
        self.assertEqual(backup.target_destination_ids, self.destination)

    def test_other_public_methods_answer_over_rpc(self):
        answer = self._xmlrpc(
            self.backup_admin, "sales.document.backup.destination", "action_check_connection", [self.destination.ids]
        )
        self.assertEqual(answer["tag"], "display_notification")
        order = self._create_order()
        order.action_confirm()
        entry = self.env["sales.document.backup.journal"].search(
            [("res_model", "=", "sale.order"), ("res_id", "=", order.id), ("event", "=", "confirmed")]
        )
        self.env["sales.document.backup.journal"]._cron_send_journal()
        opened = self._xmlrpc(self.admin, "sales.document.backup.journal", "action_open_document", [entry.ids])
        self.assertEqual(self._assert_window_action(opened, "sale.order"), order)
        # The restore wizard as an integration drives it: create, then act.
        defaults = self._xmlrpc(
            self.admin, "sales.document.backup.journal.restore", "default_get", [["journal_id", "mode"]],
            {"context": {"active_model": "sales.document.backup.journal", "active_id": entry.id}},
        )
        self.assertEqual(defaults["journal_id"], entry.id)
        wizard_id = self._xmlrpc(self.admin, "sales.document.backup.journal.restore", "create", [[defaults]])
        restored = self._xmlrpc(
            self.admin, "sales.document.backup.journal.restore", "action_restore", [wizard_id]
        )
        copy = self._assert_window_action(restored, "sale.order")
        self.assertNotEqual(copy, order)
        self.assertEqual(entry.restored_res_id, copy.id, "the wizard recorded the restore on the entry")
        reopened = self._xmlrpc(
            self.admin, "sales.document.backup.journal", "action_open_restored_document", [entry.ids]
        )
        self.assertEqual(self._assert_window_action(reopened, "sale.order"), copy)

    def test_journaled_document_buttons_answer_over_rpc(self):
        """The document buttons this addon extends answer True, not None (which XML-RPC cannot carry)."""
        payment = self.env["account.payment"].create({
            "payment_type": "inbound", "partner_type": "customer", "partner_id": self.customer.id,
            "amount": 10.0, "journal_id": self.bank_journal.id,
        })
        self.assertIs(self._xmlrpc(self.admin, "account.payment", "action_post", [payment.ids]), True)
        body = self._jsonrpc(self.admin, "account.payment", "action_cancel", [payment.ids])
        self.assertNotIn("error", body, body.get("error"))
        self.assertIs(body["result"], True)
        invoice = self.env["account.move"].create({
            "move_type": "out_invoice", "partner_id": self.customer.id,
            "invoice_line_ids": [Command.create({"product_id": self.product.id, "quantity": 1, "price_unit": 10.0})],
        })
        self.assertIs(self._xmlrpc(self.admin, "account.move", "button_cancel", [invoice.ids]), True)
        events = self.env["sales.document.backup.journal"].search([
            ("res_model", "in", ("account.payment", "account.move")), ("res_id", "in", (payment.id, invoice.id)),
        ]).mapped(lambda entry: (entry.res_model, entry.event))
        self.assertEqual(sorted(events), [
            ("account.move", "cancelled"), ("account.payment", "cancelled"), ("account.payment", "posted"),
        ])

    # ------------------------------------------------------------------
    # Roles
    # ------------------------------------------------------------------

    def test_salesperson_and_viewer_cannot_run_backups(self):
        Backup = self.env["sales.document.backup"]
        before = Backup.search_count([])
        tests_before = self.env["sales.document.backup.restore.test"].search_count([])
        for user in (self.salesman, self.backup_viewer):
            self._refused(ACCESS_ERROR, user, "sales.document.backup.destination", "action_backup_now",
                          [self.destination.ids])
            self._refused(ACCESS_ERROR, user, "sales.document.backup", "action_restore_test",
                          [self.failed_backup.ids])
        self._refused(ACCESS_ERROR, self.salesman, "sales.document.backup", "read", [self.done_backup.ids])
        self._refused(ACCESS_ERROR, self.backup_admin, "sales.document.backup.destination", "_apply_retention",
                      [self.destination.ids])
        self.assertEqual(Backup.search_count([]), before)
        self.assertEqual(self.env["sales.document.backup.restore.test"].search_count([]), tests_before)

    # ------------------------------------------------------------------
    # Fields only the backup process writes
    # ------------------------------------------------------------------

    def test_process_fields_cannot_be_written_created_or_imported(self):
        target = os.path.join(self.backup_dir, "victim.txt")
        for user in (self.backup_admin, self.admin):
            for model, record, values in (
                ("sales.document.backup", self.failed_backup, {"work_path": target}),
                ("sales.document.backup", self.failed_backup, {"host": False, "pid": 1}),
                ("sales.document.backup", self.done_backup, {"sha256": "0" * 64}),
                ("sales.document.backup.copy", self.done_copy, {"object_name": "victim.txt"}),
                ("sales.document.backup.copy", self.done_copy, {"location": "/"}),
            ):
                before = record.read(list(values))
                message = self._refused(ACCESS_ERROR, user, model, "write", [record.ids, values])
                self.assertIn("written only by the backup process", message)
                self.assertEqual(record.read(list(values)), before, "nothing was written")
                # A forged context key changes nothing.
                self._refused(ACCESS_ERROR, user, model, "write", [record.ids, values], {
                    "context": {"sales_document_backup_process_write": True},
                })
        Copy = self.env["sales.document.backup.copy"]
        count = Copy.search_count([])
        self._refused(ACCESS_ERROR, self.backup_admin, "sales.document.backup.copy", "create", [[{
            "backup_id": self.done_backup.id, "destination_id": self.destination.id,
            "object_name": "victim.txt", "state": "done",
        }]])
        result = self._xmlrpc(self.backup_admin, "sales.document.backup.copy", "load", [
            ["backup_id/.id", "destination_id/.id", "object_name", "state"],
            [[str(self.done_backup.id), str(self.destination.id), "victim.txt", "done"]],
        ])
        self.assertFalse(result["ids"])
        self.assertIn("written only by the backup process", json.dumps(result["messages"]))
        result = self._xmlrpc(self.backup_admin, "sales.document.backup", "load", [
            [".id", "work_path"], [[str(self.failed_backup.id), target]],
        ])
        self.assertFalse(result["ids"])
        self.assertEqual(Copy.search_count([]), count)
        self.assertFalse(self.failed_backup.work_path)
        # A passed restore test would protect a backup from retention and
        # show it verified: only a real test records one.
        self._refused(ACCESS_ERROR, self.backup_admin, "sales.document.backup.restore.test", "create",
                      [[{"backup_id": self.done_backup.id, "state": "passed"}]])
        self._refused(ACCESS_ERROR, self.backup_admin, "sales.document.backup", "create",
                      [[{"name": "Forged", "kind": "full", "state": "done"}]])
        self.assertFalse(self.done_backup.verified)

    def test_journal_entries_are_written_only_by_the_journal(self):
        order = self._create_order()
        order.action_confirm()
        entry = self.env["sales.document.backup.journal"].search(
            [("res_model", "=", "sale.order"), ("res_id", "=", order.id)], limit=1
        )
        for values in ({"snapshot": "{}"}, {"res_model": "res.users", "res_id": 1}, {"restored_res_id": 7}):
            self._refused(ACCESS_ERROR, self.admin, "sales.document.backup.journal", "write", [entry.ids, values])
        self.assertEqual((entry.res_model, entry.res_id), ("sale.order", order.id))

    # ------------------------------------------------------------------
    # Destinations inside the allowed roots
    # ------------------------------------------------------------------

    def test_destination_paths_outside_the_allowed_roots_are_refused(self):
        # Only the destination's own directory is allowed; a sibling is not.
        self._set_option("allowed_roots", self.backup_dir)
        outside = tempfile.mkdtemp(prefix="sdb-outside-")
        self.addCleanup(shutil.rmtree, outside, True)
        link = os.path.join(self.backup_dir, "escape")
        os.symlink(outside, link)
        self.addCleanup(os.unlink, link)
        Destination = self.env["sales.document.backup.destination"]
        count = Destination.search_count([])
        bad = (
            {"path": "/etc"},
            {"path": outside},
            {"path": os.path.join(self.backup_dir, "..", os.path.basename(outside))},
            {"path": link},
            {"path": os.path.join(link, "deeper")},
            {"path": self.backup_dir, "prefix": "../.."},
            {"path": "relative/dir"},
        )
        for values in bad:
            vals = dict({"name": "Hostile", "code": "hostile", "kind": "local"}, **values)
            message = self._refused(USER_ERROR, self.backup_admin, "sales.document.backup.destination", "create",
                                    [[vals]])
            self.assertRegex(message, "outside the directories allowed|absolute directory|may not contain")
            self._refused(USER_ERROR, self.admin, "sales.document.backup.destination", "write",
                          [self.destination.ids, values])
        result = self._xmlrpc(self.backup_admin, "sales.document.backup.destination", "load", [
            ["name", "code", "kind", "path"], [["Imported", "imported", "local", "/etc"]],
        ])
        self.assertFalse(result["ids"])
        self.assertEqual(Destination.search_count([]), count)
        self.assertEqual(self.destination.path, self.backup_dir)
        # Inside the root is fine.
        inside = os.path.join(self.backup_dir, "nested")
        created = self._xmlrpc(self.backup_admin, "sales.document.backup.destination", "create", [[{
            "name": "Nested", "code": "nested", "kind": "local", "path": inside,
        }]])
        self.assertTrue(created)

    def test_destination_outside_the_roots_is_not_used(self):
        """Saved before the roots were narrowed: the scheduled jobs refuse it too."""
        self._set_option("allowed_roots", os.path.join(self.backup_dir, "narrower"))
        with self.assertRaisesRegex(storage.StorageError, "outside the directories allowed"):
            self.destination._get_storage()
        action = self._xmlrpc(
            self.backup_admin, "sales.document.backup.destination", "action_backup_now", [self.destination.ids]
        )
        backup = self._assert_window_action(action, "sales.document.backup")
        self.assertEqual(backup.state, "failed")
        self.assertIn("outside the directories allowed", backup.error)

    # ------------------------------------------------------------------
    # Retention deletes only what the addon wrote
    # ------------------------------------------------------------------

    def test_retention_never_deletes_a_file_it_did_not_write(self):
        self.destination.write({"retention_daily": 1, "retention_weekly": 0, "retention_monthly": 0})
        Backup = self.env["sales.document.backup"]
        location = self.destination._get_storage().describe()
        own = []
        for day in range(1, 4):
            backup = Backup.create({
                "name": f"Day {day}", "kind": "full", "state": "done",
                "date": datetime(2026, 3, 1, 3, 0) + timedelta(days=day),
            })
            name = backup._get_own_object_name()
            path = os.path.join(self.backup_dir, *name.split("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(b"backup")
            self.env["sales.document.backup.copy"].create({
                "backup_id": backup.id, "destination_id": self.destination.id, "object_name": name,
                "location": location, "state": "done",
            })
            own.append(path)
        # A file next to the backups, named like them, that the addon never wrote.
        planted = os.path.join(os.path.dirname(own[0]), os.path.basename(own[0]).replace(".sdb", "0.sdb"))
        with open(planted, "wb") as handle:
            handle.write(b"not ours")
        expired = self.done_copy
        relative = os.path.relpath(planted, self.backup_dir)
        self._refused(ACCESS_ERROR, self.backup_admin, "sales.document.backup.copy", "write",
                      [expired.ids, {"object_name": relative}])
        self._refused(ACCESS_ERROR, self.backup_admin, "sales.document.backup.copy", "create", [[{
            "backup_id": expired.backup_id.id, "destination_id": self.destination.id,
            "object_name": relative, "state": "done",
        }]])
        self.env["sales.document.backup.destination"]._cron_apply_retention()
        self.assertTrue(os.path.exists(planted), "the planted file survives retention")
        self.assertEqual([os.path.exists(path) for path in own], [False, False, True])
        self.assertEqual(expired.state, "deleted")

    # ------------------------------------------------------------------
    # S3 credentials per company and destination
    # ------------------------------------------------------------------

    def test_s3_credentials_of_another_company_are_never_used(self):
        company_b = self.env["res.company"].create({"name": "Backup Co B"})
        Destination = self.env["sales.document.backup.destination"]
        theirs = Destination.create({
            "name": "B offsite", "code": "offsite", "kind": "s3", "bucket": "b-bucket", "company_id": company_b.id,
        })
        self._set_option(self._s3_option(company_b, "offsite", "access_key"), "b-access")
        self._set_option(self._s3_option(company_b, "offsite", "secret_key"), "b-secret")
        # The option names of earlier versions (by code alone) are no longer read.
        self._set_option("s3_offsite_access_key", "code-only-access")
        created = self._xmlrpc(self.backup_admin, "sales.document.backup.destination", "create", [[{
            "name": "A offsite", "code": "offsite", "kind": "s3", "bucket": "b-bucket",
        }]])
        mine = Destination.browse(created)
        self.assertEqual(mine.company_id, self.env.company)
        self._refused(ACCESS_ERROR, self.backup_admin, "sales.document.backup.destination", "read",
                      [theirs.ids, ["bucket"]])
        FakeS3Storage.given.clear()
        with patch.object(storage, "S3Storage", FakeS3Storage):
            self._xmlrpc(self.backup_admin, "sales.document.backup.destination", "action_check_connection", [created])
            theirs._get_storage()
        mine_given, theirs_given = FakeS3Storage.given
        self.assertEqual((theirs_given["access_key"], theirs_given["secret_key"]), ("b-access", "b-secret"))
        self.assertNotIn("b-access", mine_given.values())
        self.assertNotIn("b-secret", mine_given.values())
        self.assertNotIn("code-only-access", mine_given.values())
        # Its own options, named by its company, apply.
        self._set_option(self._s3_option(self.env.company, "offsite", "access_key"), "a-access")
        with patch.object(storage, "S3Storage", FakeS3Storage):
            mine._get_storage()
        self.assertEqual(FakeS3Storage.given[-1]["access_key"], "a-access")

    # ------------------------------------------------------------------
    # Snapshots leave secrets out
    # ------------------------------------------------------------------

    def test_journal_snapshot_holds_no_token(self):
        order = self._create_order()
        token = order._portal_ensure_token()
        order.write({"signed_by": "Carl Customer"})
        order.action_confirm()
        entry = self.env["sales.document.backup.journal"].search(
            [("res_model", "=", "sale.order"), ("res_id", "=", order.id), ("event", "=", "confirmed")]
        )
        self.assertTrue(entry)
        [row] = self._xmlrpc(self.backup_viewer, "sales.document.backup.journal", "read", [entry.ids, ["snapshot"]])
        snapshot = json.loads(row["snapshot"])
        self.assertNotIn(token, row["snapshot"])
        self.assertNotIn("access_token", snapshot["fields"])
        self.assertEqual(snapshot["fields"]["signed_by"], "Carl Customer", "what is no secret stays")
        self.assertEqual(snapshot["fields"]["id"], order.id)
        Journal = self.env["sales.document.backup.journal"]
        for model in ("sale.order", "account.move", "account.payment", "stock.picking"):
            kept = Journal._snapshot_fields(model)
            self.assertFalse([name for name in kept if "token" in name or "signature" in name], model)



@tagged("post_install", "-at_install")
class TestWatchdogRemovesOnlyItsWorkFile(BackupConfigMixin, TransactionCase):
    """The watchdog removes a lost backup's work file, and no other file."""

    def test_only_the_work_file_the_backup_named_is_removed(self):
        work_dir = tempfile.mkdtemp(prefix="sdb-work-")
        self.addCleanup(shutil.rmtree, work_dir, True)
        self._set_option("work_dir", work_dir)
        Backup = self.env["sales.document.backup"]
        stale = {"kind": "full", "state": "running", "host": socket.gethostname(),
                 "date": fields.Datetime.now() - timedelta(hours=2)}
        own, foreign, outside = Backup.create([dict(stale, name=name) for name in ("Own", "Foreign", "Outside")])
        elsewhere = tempfile.mkdtemp(prefix="sdb-not-work-")
        self.addCleanup(shutil.rmtree, elsewhere, True)
        paths = {
            own: os.path.join(work_dir, f"sdb-{self.env.cr.dbname}-{own.id}-0123456789ab.sdb"),
            # Another backup's name, and a file outside the work directory.
            foreign: os.path.join(work_dir, f"sdb-{self.env.cr.dbname}-{own.id}-ba9876543210.sdb"),
            outside: os.path.join(elsewhere, f"sdb-{self.env.cr.dbname}-{outside.id}-0123456789ab.sdb"),
        }
        for backup, path in paths.items():
            with open(path, "wb") as handle:
                handle.write(b"x")
            backup.work_path = path
        lost = Backup._cron_check_running()
        self.assertEqual(lost, own | foreign | outside)
        self.assertFalse(os.path.exists(paths[own]), "its own work file is removed")
        self.assertTrue(os.path.exists(paths[foreign]), "a file named for another backup stays")
        self.assertTrue(os.path.exists(paths[outside]), "a file outside the work directory stays")
