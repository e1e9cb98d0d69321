"""Tampering by the database owner, detected against signed anchors kept outside.

The attacks run as the database owner through connections of their own
(``psql`` and psycopg2), committed, the way a DBA would do them: switch the
guard trigger off, rewrite, recompute every hash and checkpoint with the
project's own chain code, switch it on again. The trail lives in a company
of its own, cleaned at the start and the end of each test, so no other test
sees it; the keys and the anchor directory are temporary.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import psycopg2

from odoo import SUPERUSER_ID, api, sql_db
from odoo.exceptions import AccessError, UserError
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name
from odoo.tools import mute_logger

from odoo.addons.sales_document_registry.tests.common import CommittedDataMixin, set_server_option

from ..lib import chain, signing, trail
from ..models.sales_document_audit_log import SEAL_COLUMNS
from .common import AuditCase

COMPANY_NAME = "Audit anchor test company"
GUARDED_TABLES = ("sales_document_audit_log", "sales_document_audit_checkpoint", "sales_document_audit_anchor")
VERIFY_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(__file__)), "lib", "verify.py")


class AuditConfigMixin:
    """Set ``sales_audit_*`` options for one test and restore them afterwards."""

    def _set_audit_option(self, name, value):
        set_server_option(self, f"sales_audit_{name}", value)

    def _set_up_signing_and_anchors(self):
        """A fresh key pair and anchor directory, configured for this test."""
        directory = tempfile.mkdtemp(prefix="sda-tamper-")
        self.addCleanup(shutil.rmtree, directory, True)
        self.private_path = os.path.join(directory, "signing.pem")
        self.public_path = os.path.join(directory, "signing.pub.pem")
        self.key = signing.generate_key_pair(self.private_path, self.public_path)
        self.anchor_dir = os.path.join(directory, "anchors")
        self._set_audit_option("signing_key", self.private_path)
        self._set_audit_option("anchor_dir", self.anchor_dir)
        return directory


@tagged("post_install", "-at_install")
class TestTamperAsDatabaseOwner(AuditConfigMixin, CommittedDataMixin, BaseCase):
    """Committed attacks through the database owner's own connections."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dbname = get_db_name()
        cls.registry = Registry(cls.dbname)
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env["res.company"].search([("name", "=", COMPANY_NAME)], limit=1)
            if not company:
                company = env["res.company"].create({"name": COMPANY_NAME})
            cls.company_id = company.id
            cls.database = env["sales.document.audit.checkpoint"]._sd_database()

    def setUp(self):
        super().setUp()
        self._set_up_signing_and_anchors()
        self._wipe_company()
        self.addCleanup(self._wipe_company)

    # ------------------------------------------------------------------
    # The owner's tools
    # ------------------------------------------------------------------

    def _connect(self, dbname=None):
        return psycopg2.connect(**sql_db.connection_info_for(dbname or self.dbname)[1])

    def _dsn(self, dbname=None):
        params = sql_db.connection_info_for(dbname or self.dbname)[1]
        if "dsn" in params:
            return params["dsn"]
        names = {"database": "dbname", "host": "host", "port": "port", "user": "user", "password": "password"}
        return " ".join(f"{names[key]}={value}" for key, value in params.items() if key in names and value)

    def _pg_env(self):
        """Environment of the PostgreSQL client programs: the server and role Odoo connects with."""
        params = sql_db.connection_info_for(self.dbname)[1]
        env = dict(os.environ)
        for key, variable in (("host", "PGHOST"), ("port", "PGPORT"), ("user", "PGUSER"), ("password", "PGPASSWORD")):
            if params.get(key):
                env[variable] = str(params[key])
        return env

    def _psql(self, sql, dbname=None):
        """Run ``sql`` with psql in one transaction, as the owner Odoo connects as."""
        subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dbname or self.dbname, "-1", "-c", sql],
            check=True, env=self._pg_env(), capture_output=True, text=True,
        )

    def _copy_trail_database(self):
        """A database holding a copy of the trail: what the verifier reads when it is run
        on a restored backup, and where the owner can drop tables without harming the
        other tests. Returns its name; it is dropped when the test ends."""
        name = f"{self.dbname}_trail_copy"[:63]
        env = self._pg_env()
        subprocess.run(["dropdb", "--if-exists", name], check=True, env=env, capture_output=True)
        subprocess.run(["createdb", name], check=True, env=env, capture_output=True)
        self.addCleanup(subprocess.run, ["dropdb", "--if-exists", name], check=False, env=env, capture_output=True)
        dump = subprocess.run(
            ["pg_dump", "--no-owner", "--no-acl", "-d", self.dbname, "-t", "sales_document_audit_log",
             "-t", "sales_document_audit_checkpoint", "-t", "ir_config_parameter"],
            check=True, env=env, capture_output=True, text=True,
        )
        # Without ON_ERROR_STOP: the foreign keys to tables left out of the copy are refused, the rest loads.
        subprocess.run(["psql", "-X", "-q", "-d", name], input=dump.stdout, check=True, env=env,
                       capture_output=True, text=True)
        return name

    def _wipe_company(self, alerts=True):
        """Remove the test company's trail (the owner can); with ``alerts``, its alerts too."""
        company = int(self.company_id)
        alert_sql = f"""
            DELETE FROM sales_document_audit_alert_sales_document_audit_log_rel
             WHERE sales_document_audit_log_id IN (
                SELECT id FROM sales_document_audit_log WHERE company_id = {company});
            DELETE FROM mail_activity WHERE res_model = 'sales.document.audit.alert' AND res_id IN (
                SELECT id FROM sales_document_audit_alert WHERE company_id = {company});
            DELETE FROM mail_followers WHERE res_model = 'sales.document.audit.alert' AND res_id IN (
                SELECT id FROM sales_document_audit_alert WHERE company_id = {company});
            DELETE FROM mail_message WHERE model = 'sales.document.audit.alert' AND res_id IN (
                SELECT id FROM sales_document_audit_alert WHERE company_id = {company});
            DELETE FROM sales_document_audit_alert WHERE company_id = {company};
        """ if alerts else ""
        self._psql(f"""
            ALTER TABLE sales_document_audit_log DISABLE TRIGGER USER;
            ALTER TABLE sales_document_audit_checkpoint DISABLE TRIGGER USER;
            ALTER TABLE sales_document_audit_anchor DISABLE TRIGGER USER;
            {alert_sql}
            DELETE FROM sales_document_audit_anchor WHERE company_id = {company};
            UPDATE sales_document_audit_log SET checkpoint_id = NULL WHERE company_id = {company};
            DELETE FROM sales_document_audit_checkpoint WHERE company_id = {company};
            DELETE FROM sales_document_audit_log WHERE company_id = {company};
            ALTER TABLE sales_document_audit_log ENABLE TRIGGER USER;
            ALTER TABLE sales_document_audit_checkpoint ENABLE TRIGGER USER;
            ALTER TABLE sales_document_audit_anchor ENABLE TRIGGER USER;
        """)

    def _insert_rows(self, amounts):
        """Audit rows of the test company, written as the capture code writes them (plain INSERT)."""
        ids = []
        with self._connect() as connection, connection.cursor() as cursor:
            for amount in amounts:
                cursor.execute(
                    """INSERT INTO sales_document_audit_log
                           (res_model, res_id, res_name, operation, user_id, timestamp, changes, device, company_id,
                            active)
                       VALUES ('sale.order', %s, %s, 'write', %s, now() at time zone 'utc', %s, 'api', %s, TRUE)
                       RETURNING id""",
                    (amount, f"S{amount:05d}", SUPERUSER_ID,
                     json.dumps({"fields": {"amount_total": [0.0, float(amount)]}}), self.company_id),
                )
                ids.append(cursor.fetchone()[0])
        connection.close()
        return ids

    def _seal(self):
        """Seal the company's rows as the job does, commit, and let the anchoring run after the commit."""
        with self._committed() as env:
            checkpoints = env["sales.document.audit.log"]._seal_company(self.company_id)
            env["sales.document.audit.checkpoint"]._sd_anchor_after_commit(checkpoints.ids)
            ids = checkpoints.ids
        return ids

    def _build_trail(self):
        """Three sealed and anchored checkpoints: rows 1-3, 4-5, 6-9."""
        ids = []
        for amounts in ((101, 102, 103), (104, 105), (106, 107, 108, 109)):
            ids += self._insert_rows(amounts)
            self._seal()
        with self._committed() as env:
            anchors = env["sales.document.audit.anchor"].search([("company_id", "=", self.company_id)])
            self.assertEqual(len(anchors), 3, "every checkpoint anchored once its seal was committed")
            self.assertTrue(all(cp.signature and cp.key_fingerprint == signing.fingerprint(self.key)
                                for cp in anchors.checkpoint_id))
        return ids

    def _verify(self):
        with self._committed() as env:
            return env["sales.document.audit.log"].verify_integrity(self.company_id)

    def _verify_cli(self, *extra, dbname=None):
        completed = subprocess.run(
            [sys.executable, VERIFY_SCRIPT, "--dsn", self._dsn(dbname), "--public-key", self.public_path,
             "--anchor-dir", self.anchor_dir, "--company", str(self.company_id), "--json", *extra],
            capture_output=True, text=True, timeout=120, check=False,
        )
        self.assertIn(completed.returncode, (0, 1), completed.stdout + completed.stderr)
        result = json.loads(completed.stdout)
        self.assertEqual(completed.returncode, 0 if result["ok"] else 1)
        return result

    def _rechain(self, cursor, attacker_key=None):
        """Recompute every row hash, Merkle root and checkpoint of the company with the project's chain code."""
        cursor.execute(trail.CHECKPOINTS_QUERY, (self.company_id,))
        checkpoints = trail.dict_rows(cursor)
        cursor.execute(
            f"SELECT {', '.join(trail.ROW_COLUMNS)} FROM sales_document_audit_log"  # noqa: S608 - constant names
            " WHERE company_id = %s AND hash IS NOT NULL ORDER BY sequence", (self.company_id,),
        )
        rows = trail.dict_rows(cursor)
        prev_hash, prev_checkpoint = "", ""
        sequence = 0
        for checkpoint in checkpoints:
            members = [row for row in rows if row["checkpoint_id"] == checkpoint["id"]]
            hashes = []
            for row in members:
                sequence += 1
                row["sequence"] = sequence
                digest = chain.row_hash(prev_hash, row)
                cursor.execute(
                    "UPDATE sales_document_audit_log SET sequence = %s, prev_hash = %s, hash = %s WHERE id = %s",
                    (sequence, prev_hash, digest, row["id"]),
                )
                hashes.append(digest)
                prev_hash = digest
            if not members:
                cursor.execute("DELETE FROM sales_document_audit_checkpoint WHERE id = %s", (checkpoint["id"],))
                continue
            checkpoint.update(
                first_sequence=sequence - len(members) + 1, last_sequence=sequence, row_count=len(members),
                merkle_root=chain.merkle_root(hashes), prev_hash=prev_checkpoint,
            )
            new_hash = chain.checkpoint_hash(prev_checkpoint, checkpoint)
            signature, fingerprint = checkpoint["signature"], checkpoint["key_fingerprint"]
            if new_hash != checkpoint["hash"] and attacker_key is not None:
                fingerprint = signing.fingerprint(attacker_key)
                checkpoint["hash"] = new_hash
                signature = signing.sign(attacker_key, signing.checkpoint_payload(checkpoint, self.database, fingerprint))
            cursor.execute(
                """UPDATE sales_document_audit_checkpoint
                      SET first_sequence = %s, last_sequence = %s, row_count = %s, merkle_root = %s, prev_hash = %s,
                          hash = %s, signature = %s, key_fingerprint = %s
                    WHERE id = %s""",
                (checkpoint["first_sequence"], sequence, len(members), checkpoint["merkle_root"], prev_checkpoint,
                 new_hash, signature, fingerprint, checkpoint["id"]),
            )
            prev_checkpoint = new_hash

    def _attack(self, action):
        """Run ``action(cursor)`` as the owner with the guard triggers off, committed."""
        connection = self._connect()
        try:
            with connection, connection.cursor() as cursor:
                for table in GUARDED_TABLES:
                    cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
                action(cursor)
                for table in GUARDED_TABLES:
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        finally:
            connection.close()

    def assertBroken(self, result, reason, log_id=None):
        self.assertFalse(result["ok"], result)
        self.assertEqual(result["reason"], reason, result)
        if log_id is not None:
            self.assertEqual(result["first_broken_id"], log_id, result)

    # ------------------------------------------------------------------
    # Attacks
    # ------------------------------------------------------------------

    def test_intact_trail_verifies_in_odoo_and_on_the_command_line(self):
        self._build_trail()
        result = self._verify()
        self.assertTrue(result["ok"], result)
        self.assertEqual((result["checked"], result["anchored"], result["unanchored"]), (9, 3, 0))
        cli = self._verify_cli()
        self.assertTrue(cli["ok"], cli)
        self.assertEqual(cli["checked"], 9)
        text = subprocess.run(
            [sys.executable, VERIFY_SCRIPT, "--dsn", self._dsn(), "--public-key", self.public_path,
             "--anchor-dir", self.anchor_dir, "--company", str(self.company_id)],
            capture_output=True, text=True, timeout=120, check=False,
        )
        self.assertEqual(text.returncode, 0, text.stdout + text.stderr)
        self.assertIn("Audit trail intact: 9 sealed entries verified.", text.stdout)

    def test_rewritten_amount_with_every_hash_recomputed(self):
        ids = self._build_trail()
        victim = ids[4]
        attacker = signing.generate_key_pair(os.path.join(self.anchor_dir, "..", "a.pem"),
                                             os.path.join(self.anchor_dir, "..", "a.pub"))

        def rewrite(cursor):
            cursor.execute(
                "UPDATE sales_document_audit_log SET changes = %s WHERE id = %s",
                (json.dumps({"fields": {"amount_total": [0.0, 1.0]}}), victim),
            )
            self._rechain(cursor, attacker_key=attacker)

        self._attack(rewrite)
        # The chain agrees with itself again: only what lies outside the database tells.
        self._set_audit_option("anchor_dir", "")
        self._set_audit_option("signing_key", "")
        self.assertTrue(self._verify()["ok"], "without anchors nor key the rewrite goes unseen")
        self._set_audit_option("anchor_dir", self.anchor_dir)
        self._set_audit_option("signing_key", self.private_path)
        result = self._verify()
        self.assertBroken(result, "row_rewritten", victim)
        self.assertEqual(result["first_broken_sequence"], 5)
        self.assertIn("changed after it was sealed", result["message"])
        cli = self._verify_cli()
        self.assertBroken(cli, "row_rewritten", victim)
        # The public key alone, without anchors, still refuses the attacker's signature.
        no_anchor = subprocess.run(
            [sys.executable, VERIFY_SCRIPT, "--dsn", self._dsn(), "--public-key", self.public_path,
             "--company", str(self.company_id), "--json"], capture_output=True, text=True, timeout=120, check=False,
        )
        self.assertEqual(json.loads(no_anchor.stdout)["reason"], "bad_signature")

    def test_deleted_tail(self):
        ids = self._build_trail()

        def delete_tail(cursor):
            cursor.execute("DELETE FROM sales_document_audit_log WHERE id = ANY(%s)", (ids[5:],))
            cursor.execute("DELETE FROM sales_document_audit_anchor WHERE company_id = %s", (self.company_id,))
            cursor.execute(
                "DELETE FROM sales_document_audit_checkpoint WHERE company_id = %s AND first_sequence = 6",
                (self.company_id,),
            )

        self._attack(delete_tail)
        self._set_audit_option("anchor_dir", "")
        self.assertTrue(self._verify()["ok"], "without anchors a removed tail leaves no trace")
        self._set_audit_option("anchor_dir", self.anchor_dir)
        result = self._verify()
        self.assertBroken(result, "tail_removed", ids[-1])
        self.assertEqual(result["first_broken_sequence"], 6)
        self.assertBroken(self._verify_cli(), "tail_removed", ids[-1])

    def test_dropped_and_recreated_trail(self):
        ids = self._build_trail()
        # Everything of the company goes, as a TRUNCATE would take it (the other companies of this
        # shared test database stay); then new rows are written and sealed by the job.
        # The owner drops the trail and starts it again: every row, checkpoint and anchor row goes.
        self._wipe_company(alerts=False)
        reseeded = self._insert_rows((201, 202))
        self._seal()
        with self._committed() as env:
            alert = env["sales.document.audit.alert"].search(
                [("rule", "=", "chain_restarted"), ("company_id", "=", self.company_id)])
            self.assertEqual(len(alert), 1, "a new chain over an anchored one is said loudly")
            self.assertIn("new chain", alert.details)
        result = self._verify()
        self.assertBroken(result, "chain_restarted", reseeded[0])
        self.assertBroken(self._verify_cli(), "chain_restarted", reseeded[0])
        self.assertNotIn(result["first_broken_id"], ids)

    def test_dropped_and_recreated_tables(self):
        self._build_trail()
        copy = self._copy_trail_database()
        self.assertTrue(self._verify_cli(dbname=copy)["ok"], "the copy holds the intact trail")
        connection = self._connect(copy)
        try:
            with connection, connection.cursor() as cursor:
                # The owner drops both tables for real and makes them again, empty, as a
                # reinstall would; the sealing job, which holds the key, then seals what comes.
                cursor.execute("""
                    CREATE TABLE log_again (LIKE sales_document_audit_log INCLUDING ALL);
                    CREATE TABLE checkpoint_again (LIKE sales_document_audit_checkpoint INCLUDING ALL);
                    DROP TABLE sales_document_audit_log, sales_document_audit_checkpoint CASCADE;
                    ALTER TABLE log_again RENAME TO sales_document_audit_log;
                    ALTER TABLE checkpoint_again RENAME TO sales_document_audit_checkpoint;
                """)
                cursor.execute(
                    """INSERT INTO sales_document_audit_checkpoint
                           (id, company_id, first_sequence, last_sequence, first_log_id, last_log_id, row_count,
                            merkle_root, prev_hash, hash, sealed_at)
                       VALUES (1, %s, 1, 2, 1, 2, 2, '', '', 'to be computed', now() at time zone 'utc')""",
                    (self.company_id,),
                )
                for log_id, amount in ((1, 201), (2, 202)):
                    cursor.execute(
                        """INSERT INTO sales_document_audit_log
                               (id, res_model, res_id, res_name, operation, user_id, timestamp, changes, device,
                                company_id, active, sequence, prev_hash, hash, checkpoint_id)
                           VALUES (%s, 'sale.order', %s, %s, 'write', %s, now() at time zone 'utc', %s, 'api', %s,
                                   TRUE, %s, '', 'to be computed', 1)""",
                        (log_id, amount, f"S{amount:05d}", SUPERUSER_ID,
                         json.dumps({"fields": {"amount_total": [0.0, float(amount)]}}), self.company_id, log_id),
                    )
                self._rechain(cursor, attacker_key=self.key)
        finally:
            connection.close()
        # The new chain is sound and signed with the right key: only the anchors tell.
        self.assertTrue(self._verify_cli("--anchor-dir", "", dbname=copy)["ok"])
        result = self._verify_cli(dbname=copy)
        self.assertBroken(result, "chain_restarted", 1)

    def test_forged_checkpoint_signature(self):
        self._build_trail()
        forger = signing.generate_key_pair(os.path.join(self.anchor_dir, "..", "f.pem"),
                                           os.path.join(self.anchor_dir, "..", "f.pub"))

        def forge(cursor):
            cursor.execute(trail.CHECKPOINTS_QUERY, (self.company_id,))
            checkpoint = trail.dict_rows(cursor)[1]
            payload = signing.checkpoint_payload(checkpoint, self.database, checkpoint["key_fingerprint"])
            cursor.execute("UPDATE sales_document_audit_checkpoint SET signature = %s WHERE id = %s",
                           (signing.sign(forger, payload), checkpoint["id"]))
            self.forged = checkpoint

        self._attack(forge)
        result = self._verify()
        self.assertBroken(result, "bad_signature", self.forged["first_log_id"])
        self.assertBroken(self._verify_cli(), "bad_signature", self.forged["first_log_id"])


@tagged("post_install", "-at_install")
class TestAnchoring(AuditConfigMixin, AuditCase):
    """Signing and anchoring at each seal, in the job's transaction."""

    def setUp(self):
        super().setUp()
        self._set_up_signing_and_anchors()
        self.Checkpoint = self.env["sales.document.audit.checkpoint"]

    def _auditor(self):
        return self.env["res.users"].create({
            "name": "Anchor auditor", "login": "anchor_auditor_test",
            "groups_id": [(6, 0, [self.env.ref("sales_document_audit.group_auditor").id])],
        })

    def test_hashed_columns_cover_the_table(self):
        stored = {name for name, field in self.Log._fields.items() if field.store and field.column_type}
        self.assertEqual(stored - set(chain.HASHED_COLUMNS) - set(SEAL_COLUMNS), set(),
                         "a column neither hashed nor filled by sealing")
        self.assertEqual(set(self.Log._sd_reason_labels()), set(__import__(
            "odoo.addons.sales_document_audit.lib.verifier", fromlist=["REASONS"]).REASONS))

    def test_seal_signs_and_anchors_and_the_form_shows_it(self):
        self._create_order()
        self._commit_point()
        checkpoints = self.Log._cron_seal()
        self.assertTrue(checkpoints)
        for checkpoint in checkpoints:
            self.assertEqual(checkpoint.key_fingerprint, signing.fingerprint(self.key))
            self.assertTrue(signing.verify(signing.key_map([self.key]), checkpoint._sd_payload(), checkpoint.signature))
            self.assertEqual(checkpoint.anchor_state, "pending")
        # The anchoring of a run waits for its commit; the next run (or the commit) writes it.
        self.assertEqual(self.Checkpoint._sd_anchor_pending(checkpoints.ids), len(checkpoints))
        checkpoints.invalidate_recordset()
        self.assertEqual(set(checkpoints.mapped("anchor_state")), {"anchored"})
        anchor = checkpoints[:1].anchor_ids
        self.assertEqual(anchor.store, f"local:{self.anchor_dir}")
        self.assertTrue(os.path.isfile(anchor.reference))
        self.assertEqual(self.Checkpoint._sd_anchor_pending(checkpoints.ids), 0, "anchored once per store")
        with self.assertRaises(UserError):
            anchor.write({"store": "elsewhere"})
        with self.assertRaises(psycopg2.Error), mute_logger("odoo.sql_db"), self.env.cr.savepoint():
            self.env.cr.execute("UPDATE sales_document_audit_anchor SET store = 'x' WHERE id = %s", (anchor.id,))
        auditor = self.env(user=self._auditor())
        view = self.env.ref("sales_document_audit.sales_document_audit_checkpoint_view_form")
        self.assertIn("anchor_ids", view.arch)
        own = checkpoints.filtered(lambda checkpoint: checkpoint.company_id == self.company)
        self.assertTrue(own)
        shown = auditor["sales.document.audit.checkpoint"].browse(own.ids).read(
            ["key_fingerprint", "anchor_ids", "anchor_state"])
        self.assertEqual({row["anchor_state"] for row in shown}, {"anchored"})
        self.assertTrue(all(row["anchor_ids"] and row["key_fingerprint"] for row in shown))
        result = self.Log.verify_integrity(self.company.id)
        self.assertTrue(result["ok"], result)
        self.assertTrue(result["anchors_checked"])

    def test_failed_anchoring_alerts_and_never_blocks(self):
        blocker = os.path.join(os.path.dirname(self.anchor_dir), "not-a-directory")
        with open(blocker, "w") as handle:
            handle.write("x")
        self._set_audit_option("anchor_dir", blocker)
        order = self._create_order()
        self._commit_point()
        checkpoints = self.Log._cron_seal()
        self.assertEqual(self.Checkpoint._sd_anchor_pending(checkpoints.ids), 0)
        alert = self.env["sales.document.audit.alert"].search([("rule", "=", "anchor_failed")])
        self.assertTrue(alert, "a failed anchoring raises an alert")
        self.assertIn("could not be anchored", alert[:1].details)
        # Users keep working and sealing goes on.
        order.note = "still working"
        self._commit_point()
        self.assertTrue(self.Log._cron_seal())
        # The next run with a working store anchors what is waiting, oldest first.
        self._set_audit_option("anchor_dir", self.anchor_dir)
        self.Log._cron_seal()
        self.assertTrue(all(cp.anchor_state == "anchored" for cp in checkpoints))

    def test_uninstall_refused_until_exported_and_verified(self):
        module = self.env.ref("base.module_sales_document_audit")
        Export = self.env["sales.document.audit.export"]
        order = self._create_order()
        self._commit_point()
        with self.assertRaisesRegex(UserError, "never exported"):
            module.button_uninstall()
        with self.assertRaises(AccessError):
            Export.with_user(self._auditor()).action_export_trail()
        action = Export.action_export_trail()
        export = Export.browse(action["res_id"])
        self.assertTrue(export.verified, export.verification)
        self.assertTrue(export.anchors_checked)
        self.assertEqual(export.row_count, self.Log.with_context(active_test=False).search_count([]))
        content = json.loads(export.attachment_id.raw)
        self.assertIn(export.last_log_id, [row["id"] for row in content["rows"]])
        self.assertTrue(self.Log.search([("res_model", "=", Export._name), ("res_id", "=", export.id),
                                         ("operation", "=", "export")]), "the export is in the trail")
        module.button_uninstall()
        self.assertEqual(module.state, "to remove")
        module.state = "installed"
        # A new entry after the export blocks the uninstallation again.
        order.note = "after the export"
        self._commit_point()
        with self.assertRaisesRegex(UserError, "never exported"):
            module.button_uninstall()
        # An export of a broken trail does not open the way either.
        victim = self._logs(order)[:1]
        self.env.cr.execute("ALTER TABLE sales_document_audit_log DISABLE TRIGGER sales_document_audit_log_guard")
        self.env.cr.execute("UPDATE sales_document_audit_log SET changes = '{}' WHERE id = %s", (victim.id,))
        self.env.cr.execute("ALTER TABLE sales_document_audit_log ENABLE TRIGGER sales_document_audit_log_guard")
        export = Export.browse(Export.action_export_trail()["res_id"])
        self.assertFalse(export.verified)
        with self.assertRaisesRegex(UserError, "not verified intact"):
            module.button_uninstall()
