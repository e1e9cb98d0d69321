import json

import psycopg2

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import SQL, mute_logger

from .common import AuditCase


@tagged("post_install", "-at_install")
class TestAuditIntegrity(AuditCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Seal whatever earlier runs left, so each test starts from a clean chain.
        cls.Log._cron_seal()

    def _sealed_logs(self, count=3):
        orders = self.env["sale.order"]
        for _i in range(count):
            orders |= self._create_order()
        self._commit_point()
        self.Log._cron_seal()
        logs = self._logs(orders)
        self.assertTrue(all(logs.mapped("hash")))
        return logs

    def _raw(self, query):
        with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
            self.env.cr.execute(query)

    def test_orm_cannot_change_the_trail(self):
        log = self._sealed_logs(1)
        officer = self.env.ref("base.user_admin")
        for env in (self.env, self.env(user=officer)):
            with self.assertRaises(UserError):
                log.with_env(env).write({"changes": "{}"})
            with self.assertRaises(UserError):
                log.with_env(env).unlink()
            with self.assertRaises(UserError):
                env["sales.document.audit.log"].create({"res_model": "sale.order", "res_id": 1, "operation": "write"})
        with self.assertRaises(UserError):
            log.checkpoint_id.unlink()

    def test_trigger_refuses_update_delete_truncate(self):
        log = self._sealed_logs(1)
        table = SQL.identifier("sales_document_audit_log")
        for query in (
            SQL("UPDATE %s SET changes = '{}' WHERE id = %s", table, log.id),
            SQL("UPDATE %s SET hash = 'x' WHERE id = %s", table, log.id),
            SQL("UPDATE %s SET user_id = NULL WHERE id = %s", table, log.id),
            SQL("DELETE FROM %s WHERE id = %s", table, log.id),
            SQL("TRUNCATE %s CASCADE", table),
            SQL("UPDATE sales_document_audit_checkpoint SET hash = 'x' WHERE id = %s", log.checkpoint_id.id),
            SQL("DELETE FROM sales_document_audit_checkpoint WHERE id = %s", log.checkpoint_id.id),
        ):
            with self.assertRaises(psycopg2.Error, msg=query.code):
                self._raw(query)
        self.assertTrue(log.exists())

    def test_a_new_row_enters_five_indexes_only(self):
        # Each audited write inserts a row: every index of the trail costs every write.
        self.env.cr.execute("""
            SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'sales_document_audit_log'
        """)
        indexes = dict(self.env.cr.fetchall())
        unconditional = sorted(name for name, definition in indexes.items() if " WHERE " not in definition)
        self.assertEqual(unconditional, [
            "sales_document_audit_log__timestamp_index",
            "sales_document_audit_log__user_id_index",
            "sales_document_audit_log_document_idx",
            "sales_document_audit_log_pkey",
        ])
        partial = {name: definition.split(" WHERE ")[1] for name, definition in indexes.items() if " WHERE " in definition}
        self.assertEqual(partial, {
            # Holds the new rows until they are sealed.
            "sales_document_audit_log_unsealed_idx": "(hash IS NULL)",
            # Filled by the sealing job only.
            "sales_document_audit_log__sequence_index": "(sequence IS NOT NULL)",
            "sales_document_audit_log__checkpoint_id_index": "(checkpoint_id IS NOT NULL)",
        })

    def test_unsealed_rows_accept_only_their_seal(self):
        order = self._create_order()
        self._commit_point()
        log = self._logs(order)
        self.assertFalse(log.hash)
        with self.assertRaises(psycopg2.Error):
            self._raw(SQL("UPDATE sales_document_audit_log SET res_id = res_id + 1 WHERE id = %s", log.id))
        with self.assertRaises(psycopg2.Error):
            self._raw(SQL("UPDATE sales_document_audit_log SET active = FALSE WHERE id = %s", log.id))
        checkpoints = self.Log._cron_seal()
        self.assertEqual(len(checkpoints), 1)
        log.invalidate_recordset()
        self.assertTrue(log.hash)
        self.assertEqual(log.checkpoint_id, checkpoints)

    def test_chain_verifies_and_checkpoints_chain(self):
        logs = self._sealed_logs(3)
        first_checkpoint = logs[0].checkpoint_id
        more = self._sealed_logs(2)
        self.assertNotEqual(more[0].checkpoint_id, first_checkpoint)
        self.assertEqual(more[0].checkpoint_id.prev_hash, first_checkpoint.hash)
        self.assertEqual(more[0].prev_hash, logs[-1].hash if logs[-1].sequence + 1 == more[0].sequence else more[0].prev_hash)
        result = self.Log.verify_integrity()
        self.assertEqual(
            {key: result[key] for key in ("ok", "checked", "first_broken_id", "reason")},
            {"ok": True, "checked": result["checked"], "first_broken_id": False, "reason": False},
        )
        self.assertGreaterEqual(result["checked"], 5)
        self.assertTrue(self.Log.verify_integrity(self.company.id)["ok"])

    def _tamper(self, query):
        cr = self.env.cr
        cr.execute(SQL("ALTER TABLE sales_document_audit_log DISABLE TRIGGER sales_document_audit_log_guard"))
        cr.execute(query)
        cr.execute(SQL("ALTER TABLE sales_document_audit_log ENABLE TRIGGER sales_document_audit_log_guard"))

    def test_tampered_row_is_detected(self):
        logs = self._sealed_logs(3)
        victim = logs[1]
        self._tamper(SQL(
            "UPDATE sales_document_audit_log SET changes = %s WHERE id = %s", json.dumps({"fields": {}}), victim.id
        ))
        result = self.Log.verify_integrity()
        self.assertFalse(result["ok"])
        self.assertEqual(result["first_broken_id"], victim.id)
        self.assertEqual(result["reason"], "row_rewritten")

    def test_deleted_row_is_detected(self):
        logs = self._sealed_logs(3)
        self._tamper(SQL("DELETE FROM sales_document_audit_log WHERE id = %s", logs[1].id))
        result = self.Log.verify_integrity(self.company.id)
        self.assertFalse(result["ok"])
        self.assertEqual(result["first_broken_id"], logs[2].id)
        self.assertEqual(result["reason"], "row_removed")

    def test_rehashed_row_is_detected_by_the_checkpoint(self):
        logs = self._sealed_logs(2)
        last = logs[-1]
        # Re-chaining a forged row still breaks the Merkle root of its checkpoint.
        from odoo.addons.sales_document_audit.lib import chain

        self.env.cr.execute(SQL(
            "SELECT * FROM sales_document_audit_log WHERE id = %s", last.id
        ))
        row = self.env.cr.dictfetchone()
        row["changes"] = "{}"
        forged = chain.row_hash(row["prev_hash"], row)
        self._tamper(SQL(
            "UPDATE sales_document_audit_log SET changes = '{}', hash = %s WHERE id = %s", forged, last.id
        ))
        result = self.Log.verify_integrity(self.company.id)
        self.assertFalse(result["ok"])
        self.assertTrue(result["first_broken_id"])

    def test_checkpoint_export_and_archive(self):
        logs = self._sealed_logs(2)
        exported = json.loads(self.env["sales.document.audit.checkpoint"].export_checkpoints(self.company.id))
        hashes = {cp["hash"] for cp in exported["checkpoints"]}
        self.assertIn(logs[0].checkpoint_id.hash, hashes)
        self.company.audit_retention_days = 1
        # Sealed rows committed on an earlier day (a kept database) may be
        # archived now; this test's own rows are not old enough yet.
        self.Log._cron_archive()
        self.assertEqual(self.Log.search([("id", "in", logs.ids)]), logs, "nothing of this test is old enough yet")
        # Pretend a day went by: the archive never deletes, it only hides sealed rows.
        from unittest.mock import patch

        from odoo import fields

        later = fields.Datetime.add(fields.Datetime.now(), days=2)
        with patch.object(fields.Datetime, "now", return_value=later):
            archived = self.Log._cron_archive()
        self.assertGreaterEqual(archived, 2)
        self.assertFalse(self.Log.search([("id", "in", logs.ids)]))
        self.assertEqual(len(self.Log.with_context(active_test=False).search([("id", "in", logs.ids)])), 2)
        self.assertTrue(self.Log.verify_integrity(self.company.id)["ok"])

    def test_seal_now_is_for_security_officers(self):
        order = self._create_order()
        self._commit_point()
        auditor = self._create_user("sd_seal_auditor", "Alma Auditor", ["sales_document_audit.group_auditor"])
        officer = self._create_user(
            "sd_seal_officer", "Oskar Officer", ["sales_document_audit.group_security_officer"]
        )
        with self.assertRaises(AccessError):
            self.Log.with_user(auditor).action_seal_now()
        self.assertFalse(any(self._logs(order).mapped("hash")), "a refused seal seals nothing")
        result = self.Log.with_user(officer).action_seal_now()
        self.assertEqual(result["tag"], "display_notification")
        self.env.invalidate_all()  # sealing writes with SQL
        logs = self._logs(order)
        self.assertTrue(logs)
        self.assertTrue(all(logs.mapped("hash")), "the officer's seal chains the pending rows")
