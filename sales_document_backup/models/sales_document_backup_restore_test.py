import logging
import os
import shutil
import tempfile
import time
import uuid

from odoo import _, api, fields, models
from odoo.modules.neutralize import neutralize_database

from .. import settings
from ..errors import error_text
from ..lib import archive, crypto, dump, manifest, storage

_logger = logging.getLogger(__name__)


# A server without ``db_name`` (or whose ``dbfilter`` matches the scratch
# database) runs the scheduled jobs of every database it can list: a cron
# worker must never find an active job in the scratch database, not even
# between the restore of the ir_cron rows and the neutralization. Every job
# row is loaded inactive by a trigger created before the data arrives.
HOLD_SCHEDULED_JOBS = (
    "CREATE FUNCTION sdb_restore_hold_job() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN NEW.active := false; RETURN NEW; END $$",
    "CREATE TRIGGER sdb_restore_hold_job BEFORE INSERT ON ir_cron "
    "FOR EACH ROW EXECUTE FUNCTION sdb_restore_hold_job()",
)
RELEASE_HOLD = (
    "DROP TRIGGER sdb_restore_hold_job ON ir_cron",
    "DROP FUNCTION sdb_restore_hold_job()",
)


class SalesDocumentBackupRestoreTest(models.Model):
    """Proof that a backup can be restored: the archive is downloaded,
    decrypted and restored into a scratch database, which is neutralized and
    compared with the manifest, then dropped."""

    _name = "sales.document.backup.restore.test"
    _description = "Backup Restore Test"
    _inherit = ["mail.thread", "sales.document.backup.process.mixin"]
    _order = "date desc, id desc"
    # A passed test protects its backup from retention: only the test itself writes its result.
    _sdb_process_fields = ("backup_id", "date", "state", "duration", "report", "scratch_database")

    name = fields.Char(compute="_compute_name")
    backup_id = fields.Many2one("sales.document.backup", required=True, ondelete="cascade", readonly=True, index=True)
    company_id = fields.Many2one(related="backup_id.company_id", store=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True)
    state = fields.Selection(
        [("running", "Running"), ("passed", "Passed"), ("failed", "Failed")],
        required=True,
        default="running",
        readonly=True,
        tracking=True,
    )
    duration = fields.Float(string="Duration (s)", readonly=True, digits=(16, 1))
    report = fields.Text(readonly=True)
    scratch_database = fields.Char(readonly=True)

    @api.depends("backup_id.name", "date")
    def _compute_name(self):
        for test in self:
            test.name = _("Restore test of %(backup)s", backup=test.backup_id.name or "")

    # ------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------

    @api.model
    def _run_restore_test(self, backup):
        """Run the whole test for ``backup``; returns the test record (never raises)."""
        test = self._sdb_process_create([{"backup_id": backup.id}])
        started = time.monotonic()
        lines = []
        scratch = f"{self.env.cr.dbname[:30]}_restore_{uuid.uuid4().hex[:8]}"
        tmp = tempfile.mkdtemp(prefix="sdb-restore-", dir=settings.work_dir())
        passed = False
        try:
            passed = test._run_steps(backup, scratch, tmp, lines)
        except (crypto.CryptoError, archive.ArchiveError, dump.DumpError, storage.StorageError, OSError) as exc:
            lines.append(_("FAILED: %(error)s", error=error_text(self.env, exc)))
        finally:
            try:
                dump.drop_database(scratch, settings.db_params())
                lines.append(_("Scratch database %(db)s dropped.", db=scratch))
            except Exception as exc:  # noqa: BLE001 - reported, the test result stands
                lines.append(_("Could not drop the scratch database %(db)s: %(error)s", db=scratch, error=error_text(self.env, exc)))
            shutil.rmtree(tmp, ignore_errors=True)
        test._sdb_process_write({
            "state": "passed" if passed else "failed",
            "report": "\n".join(str(line) for line in lines),
            "duration": time.monotonic() - started,
            "scratch_database": scratch,
        })
        if not passed:
            backup._alert_managers(_("Restore test failed"), test.report)
        return test

    def _run_steps(self, backup, scratch, tmp, lines):
        """The steps of a restore test; appends to ``lines``, stops at the first error."""
        self.ensure_one()
        if backup.kind != "full" or backup.state != "done":
            lines.append(_("FAILED: only a successful full backup can be restore-tested."))
            return False
        private_key = crypto.load_private_key(settings.private_key_path(), settings.private_key_password())
        archive_path, errors = backup._download(tmp)
        lines.extend(_("Skipped copy: %(error)s", error=e) for e in errors)
        lines.append(_("Archive downloaded and checked against its SHA-256 (%(sha)s).", sha=backup.sha256))
        work = os.path.join(tmp, "extract")
        os.makedirs(work)
        extracted = dump.extract_backup(archive_path, private_key, work)
        os.unlink(archive_path)
        lines.append(_("Archive decrypted; every section matches its checksum."))
        recorded = backup._get_manifest()
        inside = extracted["manifest"]
        if manifest.canonical_json(inside.get("documents")) != manifest.canonical_json(recorded.get("documents")):
            lines.append(_("FAILED: the manifest inside the archive differs from the one recorded at backup time."))
            return False
        files = inside.get("sections", {}).get("filestore.tar", {}).get("files", 0)
        restored_files = sum(len(names) for _root, _dirs, names in os.walk(extracted["filestore_dir"]))
        if restored_files != files:
            lines.append(
                _("FAILED: the filestore holds %(found)s files, the manifest %(expected)s.",
                  found=restored_files, expected=files)
            )
            return False
        lines.append(_("Filestore: %(count)s files restored.", count=restored_files))
        params = settings.db_params()
        dump.restore_database(
            extracted["dump_path"], scratch, params, timeout=settings.timeout(),
            jobs=int(settings.get_option("restore_jobs", 2)),
            pg_restore=settings.get_option("pg_restore", "pg_restore"),
            before_data=HOLD_SCHEDULED_JOBS, after_data=RELEASE_HOLD,
        )
        lines.append(_("Database restored into %(db)s (pg_restore stops at the first error).", db=scratch))
        conn = dump.connect(scratch, params)
        try:
            with conn, conn.cursor() as scratch_pg:
                neutralize_database(scratch_pg)
            lines.append(_("Scratch database neutralized (mail servers, crons and the like disabled)."))
            with conn.cursor() as scratch_pg:
                actual = manifest.document_stats(scratch_pg)
        finally:
            conn.close()
        expected = inside.get("documents", {})
        for doc_type in sorted(expected):
            got = actual.get(doc_type, {})
            lines.append(
                _("%(type)s: %(count)s documents (expected %(expected)s), total %(total)s (expected %(etotal)s)",
                  type=doc_type, count=got.get("count"), expected=expected[doc_type]["count"],
                  total=got.get("amount_total"), etotal=expected[doc_type]["amount_total"])
            )
        problems = manifest.compare_stats(expected, actual)
        if problems:
            lines.extend(_("FAILED: %(problem)s", problem=error_text(self.env, p)) for p in problems)
            return False
        lines.append(_("PASSED: counts, amounts and document hashes match the manifest."))
        return True
