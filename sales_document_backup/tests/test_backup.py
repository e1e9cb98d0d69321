import hashlib
import json
import os
import shutil
import tempfile
from unittest.mock import patch

from odoo.tests import TransactionCase, tagged

from ..models import sales_document_backup_restore_test
from .common import BackupConfigMixin, MotoS3, free_port, key_pair

FAKE_KILLED_DUMP = """#!/bin/sh
head -c 200000 /dev/urandom
kill -9 $$
"""


@tagged("post_install", "-at_install")
class TestFullBackup(BackupConfigMixin, TransactionCase):
    """Real pg_dump/pg_restore, real encryption, a real S3 server on loopback."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.private_path, cls.public_path = key_pair("main")
        cls.s3 = MotoS3().start()
        cls.addClassCleanup(cls.s3.stop)
        cls.s3.create_bucket("sdb-backups")
        cls.local_dir = tempfile.mkdtemp(prefix="sdb-local-")
        cls.addClassCleanup(shutil.rmtree, cls.local_dir, True)
        cls._set_backup_options(
            # These tests check each outcome in one transaction: the backup
            # runs in the test's own process (the detached runner is tested
            # in test_detached).
            detached="0",
            public_key=cls.public_path,
            private_key=cls.private_path,
            allowed_roots=tempfile.gettempdir(),
            **{
                cls._s3_option(cls.env.company, "minio", "access_key"): cls.s3.access_key,
                cls._s3_option(cls.env.company, "minio", "secret_key"): cls.s3.secret_key,
                cls._s3_option(cls.env.company, "minio", "region"): "us-east-1",
            },
        )
        Destination = cls.env["sales.document.backup.destination"]
        cls.local = Destination.create({"name": "Local disk", "code": "disk", "kind": "local", "path": cls.local_dir})
        cls.bucket = Destination.create({
            "name": "MinIO", "code": "minio", "kind": "s3", "bucket": "sdb-backups",
            "endpoint_url": cls.s3.endpoint_url, "prefix": "prod",
        })
        cls.manager_group = cls.env.ref("sales_document_backup.group_backup_manager")
        cls.backup = cls.env["sales.document.backup"]._run_full_backup(cls.local | cls.bucket)

    def _s3_object(self, copy):
        return self.s3.client().get_object(Bucket="sdb-backups", Key=f"prod/{copy.object_name}")["Body"].read()

    def test_full_backup_stored_verified_and_encrypted(self):
        backup = self.backup
        self.assertEqual(backup.state, "done", backup.error)
        self.assertEqual(backup.kind, "full")
        self.assertGreater(backup.size, 1000)
        self.assertEqual(sorted(backup.copy_ids.mapped("state")), ["done", "done"])
        self.assertEqual(backup.destination_ids, self.local | self.bucket)
        self.assertEqual(backup.target_destination_ids, self.local | self.bucket)
        self.assertEqual((backup.progress, backup.progress_step, backup.progress_bytes), (100.0, "done", backup.size))
        s3_copy = backup.copy_ids.filtered(lambda c: c.destination_id == self.bucket)
        data = self._s3_object(s3_copy)
        self.assertEqual(hashlib.sha256(data).hexdigest(), backup.sha256)
        self.assertEqual(len(data), backup.size)
        local_copy = backup.copy_ids.filtered(lambda c: c.destination_id == self.local)
        with open(os.path.join(self.local_dir, local_copy.object_name), "rb") as handle:
            self.assertEqual(handle.read(), data)
        # Encrypted: no table name or module name appears in clear.
        self.assertNotIn(b"ir_module_module", data)
        self.assertNotIn(b"sales_document_backup", data)
        manifest = json.loads(backup.manifest)
        self.assertEqual(manifest["odoo_version"][:4], "18.0")
        self.assertIn("sales_document_backup", manifest["modules"])
        self.assertEqual(
            set(manifest["documents"]), {"order", "delivery", "invoice", "credit_note", "payment"}
        )
        self.assertEqual(manifest["key_fingerprint"], backup.key_fingerprint)

    def test_destination_from_public_fields_only(self):
        """kind/bucket/endpoint_url/prefix/company_id suffice; shared credential options apply."""
        self._set_option("s3_access_key", self.s3.access_key)
        self._set_option("s3_secret_key", self.s3.secret_key)
        destination = self.env["sales.document.backup.destination"].create({
            "kind": "s3", "bucket": "sdb-backups", "endpoint_url": self.s3.endpoint_url,
            "prefix": "shared", "company_id": self.env.company.id,
        })
        self.assertEqual(destination.name, "sdb-backups/shared")
        action = destination.action_backup_now()
        self.assertEqual(action["res_model"], "sales.document.backup")
        backup = self._action_record(self.env, action)
        self.assertEqual(backup.state, "done", backup.error)
        data = self.s3.client().get_object(Bucket="sdb-backups", Key=f"shared/{backup.copy_ids.object_name}")
        self.assertEqual(hashlib.sha256(data["Body"].read()).hexdigest(), backup.sha256)

    def test_restore_test_passes_and_drops_scratch_database(self):
        action = self.backup.action_restore_test()
        self.assertEqual(action["res_model"], "sales.document.backup.restore.test")
        test = self._action_record(self.env, action)
        self.assertEqual(test.state, "passed", test.report)
        self.assertIn("PASSED", test.report)
        self.assertTrue(self.backup.verified)
        self.env.cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [test.scratch_database])
        self.assertFalse(self.env.cr.fetchall(), "the scratch database must be dropped")
        dashboard = self.env["sales.document.backup.dashboard"].search([("company_id", "=", self.env.company.id)])
        self.assertEqual(dashboard.last_verified_backup_id, self.backup)
        self.assertEqual(dashboard.status, "ok", dashboard.status_message)

    def test_restore_test_never_shows_an_active_scheduled_job(self):
        """A multi-database server's cron worker lists every database: the scratch
        database must hold no active job at any moment, even before it is neutralized."""
        self.env.cr.execute("SELECT count(*) FROM ir_cron WHERE active")
        self.assertGreater(self.env.cr.fetchone()[0], 0, "the backed-up database has active jobs")
        seen = []
        real_neutralize = sales_document_backup_restore_test.neutralize_database

        def inspect_then_neutralize(scratch_cr):
            scratch_cr.execute("SELECT count(*) FROM ir_cron WHERE active")
            seen.append(scratch_cr.fetchone()[0])
            scratch_cr.execute("SELECT count(*) FROM pg_trigger WHERE tgname = 'sdb_restore_hold_job'")
            seen.append(scratch_cr.fetchone()[0])
            return real_neutralize(scratch_cr)

        with patch.object(sales_document_backup_restore_test, "neutralize_database", inspect_then_neutralize):
            test = self._action_record(self.env, self.backup.action_restore_test())
        self.assertEqual(test.state, "passed", test.report)
        self.assertEqual(seen, [0, 0], "restored jobs are inactive as they arrive, and the hold is removed")

    def test_restore_test_with_wrong_key_fails_and_alerts(self):
        self._set_option("private_key", key_pair("other")[0])
        test = self._action_record(self.env, self.backup.action_restore_test())
        self.assertEqual(test.state, "failed")
        self.assertIn("another key", test.report)
        self.assertFalse(self.backup.verified)
        self.assertTrue(
            self.backup.activity_ids.filtered(lambda a: a.summary == "Restore test failed"),
            "the backup administrators get an activity",
        )

    def test_restore_test_of_corrupted_or_truncated_copies_fails(self):
        local_copy = self.backup.copy_ids.filtered(lambda c: c.destination_id == self.local)
        s3_copy = self.backup.copy_ids.filtered(lambda c: c.destination_id == self.bucket)
        path = os.path.join(self.local_dir, local_copy.object_name)
        with open(path, "rb") as handle:
            original = handle.read()
        client = self.s3.client()
        key = f"prod/{s3_copy.object_name}"
        try:
            corrupted = bytearray(original)
            corrupted[len(corrupted) // 2] ^= 0xFF
            with open(path, "wb") as handle:
                handle.write(bytes(corrupted))
            client.put_object(Bucket="sdb-backups", Key=key, Body=original[: len(original) // 3])
            test = self._action_record(self.env, self.backup.action_restore_test())
            self.assertEqual(test.state, "failed")
            self.assertIn("does not match its recorded checksum", test.report)
        finally:
            with open(path, "wb") as handle:
                handle.write(original)
            client.put_object(Bucket="sdb-backups", Key=key, Body=original)

    def test_restore_test_when_storage_is_gone(self):
        self.local.path = os.path.join(self.local_dir, "moved-away")
        self.bucket.bucket = "sdb-no-such-bucket"
        test = self._action_record(self.env, self.backup.action_restore_test())
        self.assertEqual(test.state, "failed")
        self.assertIn("FAILED", test.report)


@tagged("post_install", "-at_install")
class TestBackupFailures(BackupConfigMixin, TransactionCase):
    """Faults are recorded as failures, never as success."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.private_path, cls.public_path = key_pair("main")
        cls.local_dir = tempfile.mkdtemp(prefix="sdb-local-")
        cls.addClassCleanup(shutil.rmtree, cls.local_dir, True)
        cls._set_backup_options(
            detached="0", public_key=cls.public_path, private_key=cls.private_path,
            allowed_roots=tempfile.gettempdir(),
        )
        cls.local = cls.env["sales.document.backup.destination"].create(
            {"name": "Local disk", "code": "disk", "kind": "local", "path": cls.local_dir}
        )

    def _backup_now(self, destination):
        return self._action_record(self.env, destination.action_backup_now())

    def _listing(self):
        found = []
        for root, _dirs, files in os.walk(self.local_dir):
            found += [os.path.join(root, f) for f in files]
        return found

    def test_dump_reads_from_the_configured_standby(self):
        """With sales_backup_dump_host/port, pg_dump connects there (here: a closed port), not to the server's database."""
        closed_port = free_port()
        self._set_option("dump_host", "127.0.0.1")
        self._set_option("dump_port", str(closed_port))
        backup = self._backup_now(self.local)
        self.assertEqual(backup.state, "failed")
        self.assertIn(str(closed_port), backup.error)
        self.assertFalse(self._listing(), "nothing is stored when the dump fails")

    def test_missing_public_key_refuses_backup(self):
        self._set_option("public_key", "")
        backup = self._backup_now(self.local)
        self.assertEqual(backup.state, "failed")
        self.assertIn("No public key", backup.error)
        self.assertFalse(backup.copy_ids)
        self.assertFalse(self._listing(), "nothing, and certainly no plaintext, is written")
        self.assertTrue(backup.activity_ids, "the administrators are alerted")

    def test_unreadable_public_key_refuses_backup(self):
        self._set_option("public_key", "/nonexistent/backup-public.pem")
        backup = self._backup_now(self.local)
        self.assertEqual(backup.state, "failed")
        self.assertIn("cannot be read", backup.error)

    def test_unwritable_destination_fails(self):
        blocker = os.path.join(self.local_dir, "a-file")
        with open(blocker, "w") as handle:
            handle.write("x")
        self.local.path = os.path.join(blocker, "backups")
        backup = self._backup_now(self.local)
        self.assertEqual(backup.state, "failed")
        self.assertEqual(backup.copy_ids.state, "failed")
        self.assertIn("Cannot write", backup.error)

    def test_s3_server_down_fails_and_leaves_nothing(self):
        s3 = MotoS3().start()
        s3.create_bucket("sdb-down")
        self._set_option(self._s3_option(self.env.company, "down", "access_key"), s3.access_key)
        self._set_option(self._s3_option(self.env.company, "down", "secret_key"), s3.secret_key)
        destination = self.env["sales.document.backup.destination"].create({
            "name": "Down", "code": "down", "kind": "s3", "bucket": "sdb-down", "endpoint_url": s3.endpoint_url,
        })
        s3.stop()
        backup = self._backup_now(destination)
        self.assertEqual(backup.state, "failed")
        self.assertEqual(backup.copy_ids.state, "failed")
        self.assertIn("S3 upload", backup.error)

    def test_one_failing_destination_fails_the_backup(self):
        blocker = os.path.join(self.local_dir, "not-a-directory")
        with open(blocker, "w") as handle:
            handle.write("x")
        self.addCleanup(os.unlink, blocker)
        bad = self.env["sales.document.backup.destination"].create(
            {"name": "Gone", "code": "gone", "kind": "local", "path": os.path.join(blocker, "backups")}
        )
        backup = self.env["sales.document.backup"]._run_full_backup(self.local | bad)
        self.assertEqual(backup.state, "failed")
        self.assertEqual(sorted(backup.copy_ids.mapped("state")), ["done", "failed"])
        self.assertIn("Gone", backup.error)

    def test_scheduled_backup_stores_every_destination(self):
        second_dir = tempfile.mkdtemp(prefix="sdb-local-2-")
        self.addCleanup(shutil.rmtree, second_dir, True)
        second = self.env["sales.document.backup.destination"].create(
            {"name": "Second disk", "code": "disk2", "kind": "local", "path": second_dir}
        )
        backups = self.env["sales.document.backup"]._cron_full_backup()
        backup = backups.filtered(lambda b: b.company_id == self.env.company)
        self.assertEqual(backup.state, "done", backup.error)
        self.assertEqual(backup.copy_ids.destination_id, self.local | second)
        self.assertEqual(set(backup.copy_ids.mapped("sha256")), {backup.sha256})

    def test_killed_dump_fails(self):
        script = os.path.join(self.local_dir, "..", os.path.basename(self.local_dir) + "-pg_dump")
        with open(script, "w") as handle:
            handle.write(FAKE_KILLED_DUMP)
        os.chmod(script, 0o755)
        self.addCleanup(os.unlink, script)
        self._set_option("pg_dump", script)
        backup = self._backup_now(self.local)
        self.assertEqual(backup.state, "failed")
        self.assertIn("killed by signal 9", backup.error)
        self.assertFalse(self._listing(), "no partial archive is left on the destination")
