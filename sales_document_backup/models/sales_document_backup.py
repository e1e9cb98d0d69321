import json
import logging
import os
import time
import uuid

from odoo import _, api, fields, models, release

from .. import settings
from ..lib import crypto, dump, storage

_logger = logging.getLogger(__name__)


class SalesDocumentBackup(models.Model):
    """A full backup (database dump + filestore) or a document journal batch.

    The archive is encrypted before it leaves this server and copied to one
    or more destinations, each copy read back and checked. A failed backup is
    kept in state ``failed`` with its error: failures are never silent.
    """

    _name = "sales.document.backup"
    _description = "Sales Document Backup"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "date desc, id desc"

    # ------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------

    name = fields.Char(required=True, readonly=True)
    kind = fields.Selection(
        [("full", "Full backup"), ("journal", "Document journal")], required=True, default="full", readonly=True
    )
    state = fields.Selection(
        [("running", "Running"), ("done", "Done"), ("failed", "Failed")],
        required=True,
        default="running",
        readonly=True,
        tracking=True,
    )
    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True, index=True)
    duration = fields.Float(string="Duration (s)", readonly=True, digits=(16, 1))
    size = fields.Integer(string="Size (bytes)", readonly=True)
    size_display = fields.Char(string="Size", compute="_compute_size_display")
    sha256 = fields.Char(string="SHA-256", readonly=True)
    manifest = fields.Text(readonly=True, help="JSON manifest recorded inside the archive.")
    error = fields.Text(readonly=True)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, readonly=True)
    key_fingerprint = fields.Char(readonly=True)
    copy_ids = fields.One2many("sales.document.backup.copy", "backup_id", string="Copies", readonly=True)
    destination_ids = fields.Many2many(
        "sales.document.backup.destination", compute="_compute_destination_ids", string="Destinations"
    )
    restore_test_ids = fields.One2many("sales.document.backup.restore.test", "backup_id", readonly=True)
    verified = fields.Boolean(compute="_compute_verified", store=True, help="A restore test of this backup passed.")
    journal_entry_ids = fields.One2many("sales.document.backup.journal", "backup_id", readonly=True)

    # ------------------------------------------------------------
    # Compute
    # ------------------------------------------------------------

    @api.depends("size")
    def _compute_size_display(self):
        for backup in self:
            size, unit = float(backup.size or 0), "B"
            for unit in ("B", "KB", "MB", "GB", "TB"):  # noqa: B007 - last unit is kept
                if size < 1024:
                    break
                size /= 1024
            backup.size_display = f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"

    @api.depends("copy_ids.destination_id")
    def _compute_destination_ids(self):
        for backup in self:
            backup.destination_ids = backup.copy_ids.destination_id

    @api.depends("restore_test_ids.state")
    def _compute_verified(self):
        for backup in self:
            backup.verified = "passed" in backup.restore_test_ids.mapped("state")

    # ------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------

    def action_restore_test(self):
        """Restore this backup into a scratch database and compare it with its
        manifest; returns the ``sales.document.backup.restore.test`` record
        (state ``passed`` or ``failed`` with a report)."""
        self.ensure_one()
        return self.env["sales.document.backup.restore.test"]._run_restore_test(self)

    def action_restore_test_open(self):
        """Button: run a restore test and open its report."""
        test = self.action_restore_test()
        return {
            "type": "ir.actions.act_window",
            "res_model": test._name,
            "res_id": test.id,
            "view_mode": "form",
            "target": "current",
        }

    def _get_form_action(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "current",
        }

    # ------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------

    def _get_manifest(self):
        self.ensure_one()
        return json.loads(self.manifest) if self.manifest else {}

    def _get_protected_backups(self):
        """Backups retention must never delete: the newest verified one per company."""
        protected = self.browse()
        for company in self.company_id:
            protected |= self.search(
                [("company_id", "=", company.id), ("kind", "=", "full"), ("verified", "=", True)],
                order="date desc, id desc",
                limit=1,
            )
        return protected

    @api.model
    def _object_name(self, kind, name):
        return f"{kind}/{self.env.cr.dbname}/{name}.sdb"

    @api.model
    def _run_full_backup(self, destinations):
        """Dump, encrypt and copy the database to ``destinations``.

        Returns the backup record, ``done`` only when every destination holds
        a verified copy, ``failed`` otherwise (with the reason).
        """
        company = destinations.company_id[:1] or self.env.company
        stamp = fields.Datetime.now()
        backup = self.create({
            "name": _("Full backup %(date)s", date=fields.Datetime.to_string(stamp)),
            "kind": "full",
            "date": stamp,
            "company_id": company.id,
        })
        started = time.monotonic()
        workdir = settings.work_dir()
        archive_path = os.path.join(workdir, f"sdb-{self.env.cr.dbname}-{uuid.uuid4().hex}.sdb")
        try:
            public_key = crypto.load_public_key(settings.public_key_path())
            result = dump.create_backup(
                archive_path,
                self.env.cr.dbname,
                public_key,
                params=settings.db_params(),
                filestore=settings.filestore(self.env.cr.dbname),
                timeout=settings.timeout(),
                extra_manifest=backup._prepare_manifest_extra(),
                pg_dump=settings.get_option("pg_dump", "pg_dump"),
            )
            backup.write({
                "size": result["size"],
                "sha256": result["sha256"],
                "manifest": json.dumps(result["manifest"], indent=1, sort_keys=True, default=str),
                "key_fingerprint": result["manifest"]["key_fingerprint"],
            })
            backup._copy_to_destinations(archive_path, destinations, self._object_name("full", backup._file_stem()))
        except crypto.BackupKeyError as exc:
            backup._mark_failed(_("The backup was refused: %(error)s", error=exc))
        except (dump.DumpError, crypto.CryptoError, storage.StorageError, OSError) as exc:
            backup._mark_failed(_("The backup failed: %(error)s", error=exc))
        finally:
            if os.path.exists(archive_path):
                os.unlink(archive_path)
        backup.duration = time.monotonic() - started
        if backup.state == "running":
            backup.state = "done"
        return backup

    def _file_stem(self):
        self.ensure_one()
        return f"{self.date:%Y%m%dT%H%M%S}-{self.id}"

    def _prepare_manifest_extra(self):
        """Information stored in the manifest next to the document statistics."""
        self.ensure_one()
        extra = {
            "odoo_version": release.version,
            "backup_id": self.id,
            "company": self.company_id.name,
        }
        checkpoint = self._get_audit_checkpoint()
        if checkpoint:
            extra["audit_checkpoint"] = checkpoint
        return extra

    def _get_audit_checkpoint(self):
        """Latest sealed audit checkpoint per company, when the audit addon is installed.

        Stored in the manifest so that a restored audit trail can be checked
        against a hash kept outside the database.
        """
        Checkpoint = self.env.get("sales.document.audit.checkpoint")
        if Checkpoint is None or not hasattr(Checkpoint, "export_checkpoints"):
            return None
        exported = json.loads(Checkpoint.export_checkpoints())
        latest = {}
        for checkpoint in exported.get("checkpoints", []):
            latest[str(checkpoint.get("company_id"))] = checkpoint
        return {"format": exported.get("format"), "latest": latest} if latest else None

    def _copy_to_destinations(self, archive_path, destinations, object_name):
        """Upload the archive everywhere; mark the backup failed if any copy fails."""
        self.ensure_one()
        Copy = self.env["sales.document.backup.copy"]
        failures = []
        for destination in destinations:
            values = {"backup_id": self.id, "destination_id": destination.id, "object_name": object_name}
            try:
                info = destination._get_storage().put(archive_path, object_name)
            except storage.StorageError as exc:
                failures.append(f"{destination.name}: {exc}")
                Copy.create(dict(values, state="failed", error=str(exc)))
                continue
            if info["sha256"] != self.sha256:
                failures.append(_("%(name)s: the stored copy does not match the archive.", name=destination.name))
                Copy.create(dict(values, state="failed", error=failures[-1]))
                continue
            Copy.create(dict(values, state="done", size=info["size"], sha256=info["sha256"]))
        if not destinations:
            failures.append(_("No destination is configured."))
        if failures:
            self._mark_failed(
                _("The archive could not be stored on every destination:\n%(errors)s", errors="\n".join(failures))
            )

    def _mark_failed(self, message):
        """Record a failure and alert the backup administrators."""
        for backup in self:
            error = "\n".join(filter(None, [backup.error, str(message)]))
            backup.write({"state": "failed", "error": error})
            _logger.error("Backup %s failed: %s", backup.name, message)
            backup._alert_managers(_("Backup failed"), str(message))

    def _alert_managers(self, summary, note):
        """Post a message and schedule an activity for every backup administrator."""
        self.ensure_one()
        self.message_post(body=note, subject=summary)
        group = self.env.ref("sales_document_backup.group_backup_manager", raise_if_not_found=False)
        users = group.users.filtered(lambda u: not u.share and self.company_id in u.company_ids) if group else []
        activity_type = self.env.ref("mail.mail_activity_data_warning", raise_if_not_found=False)
        for user in users:
            self.activity_schedule(
                activity_type_id=activity_type.id if activity_type else False,
                summary=summary,
                note=note,
                user_id=user.id,
            )

    @api.model
    def _cron_full_backup(self):
        """Scheduled: one full backup per company, to all its destinations."""
        Destination = self.env["sales.document.backup.destination"]
        backups = self.browse()
        for company in Destination.search([]).company_id:
            destinations = Destination.search([("company_id", "=", company.id)])
            backups |= self.with_company(company)._run_full_backup(destinations)
        return backups

    @api.model
    def _cron_restore_test(self):
        """Scheduled: restore-test the latest successful full backup of each company."""
        tests = self.env["sales.document.backup.restore.test"]
        for company in self.search([("kind", "=", "full"), ("state", "=", "done")]).company_id:
            latest = self.search(
                [("kind", "=", "full"), ("state", "=", "done"), ("company_id", "=", company.id)],
                order="date desc, id desc",
                limit=1,
            )
            tests |= latest.action_restore_test()
        return tests

    def _download(self, directory):
        """Fetch a verified copy of the archive into ``directory``; returns the path.

        Tries each destination in turn and accepts a copy only if its SHA-256
        matches the one recorded at backup time.
        """
        self.ensure_one()
        errors = []
        for copy in self.copy_ids.filtered(lambda c: c.state == "done"):
            path = os.path.join(directory, f"{uuid.uuid4().hex}.sdb")
            try:
                digest = copy.destination_id._get_storage().get(copy.object_name, path)
            except storage.StorageError as exc:
                errors.append(f"{copy.destination_id.name}: {exc}")
                continue
            if digest != self.sha256:
                errors.append(
                    _("%(name)s: the stored archive does not match its recorded checksum.",
                      name=copy.destination_id.name)
                )
                os.unlink(path)
                continue
            return path, errors
        if not errors:
            errors.append(_("No verified copy of this backup exists."))
        raise storage.StorageError("\n".join(str(e) for e in errors))
