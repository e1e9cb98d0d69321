"""Signed audit checkpoints anchored on an S3 destination with Object Lock."""

import json
import os
import shutil
import tempfile
from datetime import datetime, timedelta

from botocore.exceptions import ClientError

from odoo.tests import tagged
from odoo.tools import config

from odoo.addons.sales_document_audit.lib import anchors, signing
from odoo.addons.sales_document_audit.tests.common import AuditCase
from odoo.addons.sales_document_backup.tests.common import BackupConfigMixin, MotoS3


@tagged("post_install", "-at_install")
class TestS3Anchors(BackupConfigMixin, AuditCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = MotoS3().start()
        cls.addClassCleanup(cls.s3.stop)
        cls.client = cls.s3.client()
        cls.client.create_bucket(Bucket="audit-anchors-locked", ObjectLockEnabledForBucket=True)
        cls.client.create_bucket(Bucket="audit-anchors-plain")
        cls.client.create_bucket(Bucket="audit-anchors-other")
        cls._set_backup_options(s3_access_key=cls.s3.access_key, s3_secret_key=cls.s3.secret_key)
        directory = tempfile.mkdtemp(prefix="sdab-keys-")
        cls.addClassCleanup(shutil.rmtree, directory, True)
        cls.key = signing.generate_key_pair(os.path.join(directory, "k.pem"), os.path.join(directory, "k.pub"))
        for name, value in (("sales_audit_signing_key", os.path.join(directory, "k.pem")),
                            ("sales_audit_anchor_dir", "")):
            previous = config.options.get(name)
            cls.addClassCleanup(config.options.__setitem__, name, previous)
            config.options[name] = value
        cls.Destination = cls.env["sales.document.backup.destination"]
        cls.Checkpoint = cls.env["sales.document.audit.checkpoint"]

    def _destination(self, bucket, mode="COMPLIANCE", company=None):
        return self.Destination.create({
            "name": f"Anchors {bucket}", "code": "anchors", "kind": "s3", "bucket": bucket,
            "endpoint_url": self.s3.endpoint_url, "prefix": "prod", "audit_anchor_lock_mode": mode,
            "audit_anchor_retain_days": 30, "company_id": (company or self.company).id,
        })

    def _seal_and_anchor(self):
        self._create_order()
        self._commit_point()
        checkpoints = self.Log._cron_seal().filtered(lambda cp: cp.company_id == self.company)
        self.assertTrue(checkpoints)
        self.Checkpoint._sd_anchor_pending(checkpoints.ids)
        checkpoints.invalidate_recordset()
        return checkpoints

    def test_anchor_is_locked_and_cannot_be_overwritten_or_deleted(self):
        destination = self._destination("audit-anchors-locked")
        checkpoint = self._seal_and_anchor()[-1]
        anchor = checkpoint.anchor_ids.filtered(lambda a: a.store.endswith("audit-anchors-locked/prod"))
        self.assertEqual(len(anchor), 1, checkpoint.anchor_ids.mapped("store"))
        self.assertEqual(anchor.lock_mode, "COMPLIANCE")
        self.assertGreater(anchor.retain_until, datetime.now() + timedelta(days=29))
        key = anchor.reference.split(" (version ")[0]
        version = anchor.reference.split(" (version ")[1].rstrip(")")
        self.assertTrue(key.startswith(f"prod/audit-anchors/{self.Checkpoint._sd_database()}/company{self.company.id}/"))
        head = self.client.head_object(Bucket="audit-anchors-locked", Key=key, VersionId=version)
        self.assertEqual(head["ObjectLockMode"], "COMPLIANCE")
        self.assertGreater(head["ObjectLockRetainUntilDate"].replace(tzinfo=None), datetime.now() + timedelta(days=29))
        original = self.client.get_object(Bucket="audit-anchors-locked", Key=key, VersionId=version)["Body"].read()
        self.assertEqual(json.loads(original)["signature"], checkpoint.signature)
        # Nobody deletes the locked version before its retention ends, the bucket owner included.
        with self.assertRaises(ClientError):
            self.client.delete_object(Bucket="audit-anchors-locked", Key=key, VersionId=version)
        # Writing the same key again only adds a version: the anchored one stays as it was.
        destination_store = destination._sd_audit_anchor_store()
        other = signing.generate_key_pair(os.path.join(tempfile.gettempdir(), "sdab-o.pem"),
                                          os.path.join(tempfile.gettempdir(), "sdab-o.pub"))
        self.addCleanup(os.remove, os.path.join(tempfile.gettempdir(), "sdab-o.pem"))
        self.addCleanup(os.remove, os.path.join(tempfile.gettempdir(), "sdab-o.pub"))
        forged_payload = dict(checkpoint._sd_payload(), merkle_root="0" * 64, key_fingerprint=signing.fingerprint(other))
        self.client.put_object(Bucket="audit-anchors-locked", Key=key, Body=anchors.encode(
            anchors.make_record(forged_payload, signing.sign(other, forged_payload), "", "")).encode())
        self.assertEqual(
            self.client.get_object(Bucket="audit-anchors-locked", Key=key, VersionId=version)["Body"].read(), original
        )
        with self.assertRaises(ClientError):
            self.client.delete_object(Bucket="audit-anchors-locked", Key=key, VersionId=version)
        records = destination_store.records(self.Checkpoint._sd_database(), self.company.id)
        self.assertIn(checkpoint.signature, [record["signature"] for record in records])
        # The verification reads every version and refuses the forged one.
        result = self.Log.verify_integrity(self.company.id)
        self.assertFalse(result["ok"])
        self.assertEqual(result["reason"], "bad_signature")

    def test_anchor_verifies_and_plain_bucket_has_no_lock(self):
        self._destination("audit-anchors-plain")
        checkpoints = self._seal_and_anchor()
        anchor = checkpoints[-1].anchor_ids.filtered(lambda a: "audit-anchors-plain" in a.store)
        self.assertEqual(len(anchor), 1)
        self.assertFalse(anchor.lock_mode, "no Object Lock on this bucket: no retention claimed")
        result = self.Log.verify_integrity(self.company.id)
        self.assertTrue(result["ok"], result)
        self.assertTrue(result["anchors_checked"])
        self.assertGreaterEqual(result["anchored"], 1)

    def test_destination_of_another_company_gets_no_anchor(self):
        other = self.env["res.company"].create({"name": "Anchor other company"})
        self._destination("audit-anchors-other", company=other)
        checkpoints = self._seal_and_anchor()
        self.assertFalse(checkpoints.anchor_ids)
        self.assertFalse(self.client.list_objects_v2(Bucket="audit-anchors-other",
                                                     Prefix="prod/audit-anchors/").get("Contents"))

    def test_unreachable_store_raises_an_alert(self):
        self.Destination.create({
            "name": "Down", "code": "down", "kind": "s3", "bucket": "audit-anchors-plain",
            "endpoint_url": "http://127.0.0.1:9", "company_id": self.company.id,
        })
        checkpoints = self._seal_and_anchor()
        self.assertFalse(checkpoints.anchor_ids)
        alert = self.env["sales.document.audit.alert"].search(
            [("rule", "=", "anchor_failed"), ("company_id", "=", self.company.id)])
        self.assertTrue(alert)
