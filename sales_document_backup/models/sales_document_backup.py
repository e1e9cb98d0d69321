import json
import logging
import os
import re
import socket
import uuid
from datetime import timedelta

import psycopg2

from odoo import Command, _, api, fields, models, release
from odoo.exceptions import UserError
from odoo.tools import SQL, config

from .. import runner, settings
from ..backup_job import InlineSession, execute_full_backup, upload_copy
from ..errors import error_text
from ..lib import crypto, storage

_logger = logging.getLogger(__name__)


def human_size(size):
    """'12.3 MB' for a number of bytes."""
    size, unit = float(size or 0), "B"
    for unit in ("B", "KB", "MB", "GB", "TB"):  # noqa: B007 - last unit is kept
        if size < 1024:
            break
        size /= 1024
    return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"


class SalesDocumentBackup(models.Model):
    """A full backup (database dump + filestore) or a document journal batch.

    The archive is encrypted before it leaves this server and copied to one
    or more destinations, each copy read back and checked. A failed backup is
    kept in state ``failed`` with its error: failures are never silent.

    A full backup runs in a process of its own (see ``runner``), which
    records its progress and a heartbeat on the record; a watchdog cron fails
    backups whose process is gone.
    """

    _name = "sales.document.backup"
    _description = "Sales Document Backup"
    _inherit = ["mail.thread", "mail.activity.mixin", "sales.document.backup.process.mixin"]
    _order = "date desc, id desc"
    # Written by the backup process only (see the mixin): clients read them.
    _sdb_process_fields = (
        "name", "kind", "state", "date", "duration", "size", "sha256", "manifest", "error", "company_id",
        "key_fingerprint", "copy_ids", "restore_test_ids", "verified", "journal_entry_ids",
        "target_destination_ids", "progress", "progress_step", "progress_bytes", "heartbeat", "pid", "host",
        "work_path",
    )

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
    # Float: archives pass 2 GiB, beyond a PostgreSQL integer.
    size = fields.Float(string="Size (bytes)", readonly=True, digits=(16, 0))
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
    target_destination_ids = fields.Many2many(
        "sales.document.backup.destination",
        "sales_document_backup_target_rel",
        "backup_id",
        "destination_id",
        string="Requested Destinations",
        readonly=True,
    )
    # Live progress, written by the process running the backup.
    progress = fields.Float(string="Progress (%)", readonly=True, digits=(16, 1))
    progress_step = fields.Selection(
        [
            ("start", "Starting"),
            ("dump", "Dumping the database"),
            ("filestore", "Archiving the filestore"),
            ("upload", "Copying to the destinations"),
            ("done", "Finished"),
        ],
        string="Current Step",
        readonly=True,
    )
    progress_bytes = fields.Float(string="Written (bytes)", readonly=True, digits=(16, 0))
    progress_display = fields.Char(string="Progress Summary", compute="_compute_progress_display")
    heartbeat = fields.Datetime(
        string="Last Sign of Life", readonly=True, help="Last time the process running the backup reported."
    )
    pid = fields.Integer(string="Process ID", readonly=True, copy=False)
    host = fields.Char(readonly=True, copy=False, help="Server whose process runs the backup.")
    work_path = fields.Char(string="Work File", readonly=True, copy=False)

    # ------------------------------------------------------------
    # Compute
    # ------------------------------------------------------------

    @api.depends("size")
    def _compute_size_display(self):
        for backup in self:
            backup.size_display = human_size(backup.size)

    @api.depends("state", "progress", "progress_step", "progress_bytes")
    def _compute_progress_display(self):
        steps = dict(self._fields["progress_step"]._description_selection(self.env))
        for backup in self:
            if backup.state != "running":
                backup.progress_display = False
                continue
            percent = round(backup.progress)
            backup.progress_display = _(
                "%(step)s: %(percent)s%%, %(written)s written",
                step=steps.get(backup.progress_step) or steps["start"],
                percent=percent,
                written=human_size(backup.progress_bytes),
            )

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
        manifest; returns a window action on the
        ``sales.document.backup.restore.test`` (``res_id``), in state
        ``passed`` or ``failed`` with a report."""
        self.ensure_one()
        return self.env["sales.document.backup.restore.test"]._run_restore_test(self)._get_form_action()

    def action_restore_test_open(self):
        """Button: run a restore test and open its report."""
        return self.action_restore_test()

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
    def _run_full_backup(self, destinations, detached=None):
        """Back up the database to ``destinations``; returns the backup record.

        Detached (the default, see ``sales_backup_detached``), the record is
        returned ``running`` and the work starts in its own process once the
        current transaction is committed. Otherwise the backup runs here and
        the record is returned ``done`` only when every destination holds a
        verified copy, ``failed`` otherwise (with the reason).
        """
        backup = self._create_full_backup(destinations)
        if settings.detached() if detached is None else detached:
            backup._start_detached()
        else:
            execute_full_backup(InlineSession(backup))
        return backup

    @api.model
    def _create_full_backup(self, destinations):
        """The ``running`` record of a new full backup to ``destinations``."""
        company = destinations.company_id[:1] or self.env.company
        running = self._get_running_full_backup(company)
        if running:
            raise UserError(_(
                "A full backup of %(company)s is already running (%(name)s): wait until it ends.",
                company=company.name, name=running.name,
            ))
        stamp = fields.Datetime.now()
        return self._sdb_process_create({
            "name": _("Full backup %(date)s", date=fields.Datetime.to_string(stamp)),
            "kind": "full",
            "date": stamp,
            "company_id": company.id,
            "target_destination_ids": [Command.set(destinations.ids)],
            "progress_step": "start",
        })

    @api.model
    def _get_running_full_backup(self, company):
        return self.search(
            [("kind", "=", "full"), ("state", "=", "running"), ("company_id", "=", company.id)], limit=1
        )

    def _start_detached(self):
        """Start the runner process for this backup once the transaction commits.

        The process gets the server options it needs through a pipe (see
        ``runner``); its process id and host are recorded before it starts
        working, so the watchdog can tell when it is gone.
        """
        self.ensure_one()
        job = {
            "rcfile": config.rcfile,
            "options": settings.runner_options(),
            "uid": self.env.uid,
            "context": {key: self.env.context[key] for key in ("lang", "tz") if self.env.context.get(key)},
            "heartbeat": settings.heartbeat_interval(),
        }
        dbname, registry, backup_id = self.env.cr.dbname, self.env.registry, self.id
        uid, context = self.env.uid, dict(job["context"])
        python, work_dir = settings.python_executable(), settings.work_dir()

        def start():
            # Runs after the commit: whatever happens is recorded, never raised.
            try:
                process = runner.spawn(python, dbname, backup_id, cwd=work_dir)
            except Exception as exc:  # noqa: BLE001
                _logger.error("Backup %s: the backup process could not be started: %s", backup_id, exc)
                try:
                    with registry.cursor() as cr:
                        api.Environment(cr, uid, context)[self._name].browse(backup_id)._on_spawn_failed(exc)
                except Exception:  # noqa: BLE001 - the watchdog fails it later
                    _logger.exception("Backup %s: could not record that its process did not start", backup_id)
                return
            try:
                with registry.cursor() as cr:
                    api.Environment(cr, uid, context)[self._name].browse(backup_id)._sdb_process_write({
                        "pid": process.pid,
                        "host": socket.gethostname(),
                        "heartbeat": fields.Datetime.now(),
                    })
            except Exception:  # noqa: BLE001 - the watchdog then relies on the heartbeat
                _logger.exception("Backup %s: could not record its process id", backup_id)
            finally:
                try:
                    runner.send_job(process, job)
                except OSError as exc:
                    _logger.error("Backup %s: the backup process did not take its job: %s", backup_id, exc)

        self.env.cr.postcommit.add(start)

    def _on_spawn_failed(self, error):
        self.ensure_one()
        self._mark_failed(_("The backup process could not be started: %(error)s", error=error_text(self.env, error)))

    # ------------------------------------------------------------
    # Steps of a full backup (called by backup_job.execute_full_backup)
    # ------------------------------------------------------------

    def _prepare_full_backup_plan(self):
        """Everything the dump and the copies need, read while the record is at hand."""
        self.ensure_one()
        dbname = self.env.cr.dbname
        archive_path = os.path.join(settings.work_dir(), f"sdb-{dbname}-{self.id}-{uuid.uuid4().hex[:12]}.sdb")
        self._sdb_process_write({"work_path": archive_path, "heartbeat": fields.Datetime.now()})
        return {
            "database": dbname,
            "archive_path": archive_path,
            "public_key": settings.public_key_path(),
            "db_params": settings.dump_params(),
            "filestore": settings.filestore(dbname),
            "timeout": settings.timeout(),
            "pg_dump": settings.get_option("pg_dump", "pg_dump"),
            "extra_manifest": self._prepare_manifest_extra(),
            "object_name": self._object_name("full", self._file_stem()),
            "targets": [(destination.id, destination._get_storage()) for destination in self.target_destination_ids],
            "estimated_size": self._estimate_size(),
        }

    def _estimate_size(self):
        """Expected archive size, for the progress: the previous backup's, or a
        quarter of the database size for the first one."""
        self.ensure_one()
        previous = self.search(
            [("kind", "=", "full"), ("state", "=", "done"), ("company_id", "=", self.company_id.id),
             ("id", "!=", self.id)],
            order="date desc, id desc", limit=1,
        )
        if previous.size:
            return int(previous.size)
        self.env.cr.execute(SQL("SELECT pg_database_size(current_database())"))
        return int(self.env.cr.fetchone()[0] // 4)

    def _record_heartbeat(self, snapshot=None):
        """Sign of life (and progress snapshot) of a running backup."""
        for backup in self.filtered(lambda b: b.state == "running"):
            values = {"heartbeat": fields.Datetime.now()}
            if snapshot:
                values.update(
                    progress=snapshot["percent"], progress_step=snapshot["step"], progress_bytes=snapshot["bytes"]
                )
            backup._sdb_process_write(values)

    def _record_archive(self, result):
        self.ensure_one()
        self._sdb_process_write({
            "size": result["size"],
            "sha256": result["sha256"],
            "manifest": json.dumps(result["manifest"], indent=1, sort_keys=True, default=str),
            "key_fingerprint": result["manifest"]["key_fingerprint"],
        })

    def _record_copy(self, destination_id, object_name, outcome, location):
        """Record the copy on one destination (see ``backup_job.upload_copy``),
        with where it was written (``location``: the storage's ``describe()``):
        retention deletes only objects recorded this way."""
        self.ensure_one()
        values = {
            "backup_id": self.id, "destination_id": destination_id, "object_name": object_name,
            "location": location,
        }
        if outcome["ok"]:
            values.update(state="done", size=outcome["size"], sha256=outcome["sha256"])
        elif outcome["mismatch"]:
            values.update(state="failed", error=_("The stored copy does not match the archive."))
        else:
            values.update(state="failed", error=error_text(self.env, outcome["error"]))
        return self.env["sales.document.backup.copy"]._sdb_process_create([values])

    def _finish_full_backup(self, error, duration):
        """Final state: ``failed`` on an error or a missing copy, ``done`` otherwise."""
        self.ensure_one()
        if self.state != "running":
            # The watchdog already gave up on this backup: keep its verdict.
            return
        if error is not None:
            self._fail_with(error)
        else:
            self._fail_missing_copies(self.target_destination_ids)
        values = {"duration": duration}
        if self.state == "running":
            values.update(state="done", progress=100.0, progress_step="done", progress_bytes=self.size)
        self._sdb_process_write(values)

    def _discard_partial_copies(self):
        """Remove what an interrupted backup left: its work file (on this host)
        and, on each destination without a verified copy, the object and its
        partial uploads. Returns the problems met, as text lines."""
        problems = []
        hostname = socket.gethostname()
        for backup in self:
            object_name = backup._get_own_object_name()
            verified = backup.copy_ids.filtered(lambda c: c.state == "done").destination_id
            for destination in backup.target_destination_ids - verified:
                try:
                    destination._get_storage().discard(object_name)
                except storage.StorageError as exc:
                    problems.append(_("%(name)s: %(error)s", name=destination.name, error=error_text(self.env, exc)))
            work_path = backup._get_own_work_path()
            if work_path and backup.host in (False, hostname):
                try:
                    os.unlink(work_path)
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    problems.append(_("%(path)s: %(error)s", path=work_path, error=error_text(self.env, exc)))
        return problems

    def _get_own_work_path(self):
        """The recorded work file when it is one this backup wrote: inside the
        work directory and named after this database and backup; else None."""
        self.ensure_one()
        path = self.work_path and os.path.realpath(self.work_path)
        if not path or os.path.dirname(path) != os.path.realpath(settings.work_dir()):
            return None
        pattern = re.compile(rf"sdb-{re.escape(self.env.cr.dbname)}-{self.id}-[0-9a-f]{{12}}\.sdb")
        return path if pattern.fullmatch(os.path.basename(path)) else None

    def _get_own_object_name(self):
        """The object name this backup writes on its destinations."""
        self.ensure_one()
        return self._object_name(self.kind, self._file_stem())

    def _fail_interrupted(self, reason):
        """The runner was stopped (signal) or crashed: clean up and fail."""
        for backup in self.filtered(lambda b: b.state == "running"):
            problems = backup._discard_partial_copies()
            backup._mark_failed("\n".join([
                _("The backup process was interrupted (%(reason)s) before it finished; its partial "
                  "archive and uploads were removed.", reason=reason),
                *map(str, problems),
            ]))

    def _get_lost_reason(self, now, stale_after, hostname):
        """Why this running backup is considered lost, or None while it lives."""
        self.ensure_one()
        if self.pid and self.host == hostname and not runner.process_alive(self.pid, self.id):
            return _(
                "The backup process (PID %(pid)s) ended without recording a result: it was killed or crashed.",
                pid=self.pid,
            )
        last_sign = self.heartbeat or self.date
        if last_sign and now - last_sign > stale_after:
            return _(
                "The backup gave no sign of life for %(minutes)s minutes: its process was lost.",
                minutes=int((now - last_sign).total_seconds() // 60),
            )
        return None

    @api.model
    def _cron_check_running(self):
        """Scheduled watchdog: fail the running full backups whose process is
        gone or silent, remove their partial objects and alert. Returns them."""
        now = fields.Datetime.now()
        stale_after = timedelta(seconds=settings.stale_after())
        hostname = socket.gethostname()
        lost = self.browse()
        self.flush_model(["state"])
        for backup in self.search([("kind", "=", "full"), ("state", "=", "running")]):
            reason = backup._get_lost_reason(now, stale_after, hostname)
            if not reason:
                continue
            try:
                with self.env.cr.savepoint():
                    # The runner may be finishing right now: never overwrite its result.
                    self.env.cr.execute(SQL(
                        "SELECT id FROM %s WHERE id = %s AND state = 'running' FOR UPDATE NOWAIT",
                        SQL.identifier(self._table), backup.id,
                    ))
                    if not self.env.cr.fetchone():
                        continue
                    problems = backup._discard_partial_copies()
                    backup._mark_failed("\n".join([str(reason), *map(str, problems)]))
            except (psycopg2.errors.LockNotAvailable, psycopg2.errors.SerializationFailure):
                continue
            lost |= backup
        return lost

    def _file_stem(self):
        self.ensure_one()
        return f"{self.date:%Y%m%dT%H%M%S}-{self.id}"

    def _prepare_manifest_extra(self):
        """Information stored in the manifest next to the document statistics.

        Other addons extend it (``super()``) to record what a restored
        database can be checked against, e.g. the latest audit checkpoints.
        """
        self.ensure_one()
        extra = {
            "odoo_version": release.version,
            "backup_id": self.id,
            "company": self.company_id.name,
        }
        return extra

    def _copy_to_destinations(self, archive_path, destinations, object_name):
        """Upload the archive everywhere; mark the backup failed if any copy fails."""
        self.ensure_one()
        for destination in destinations:
            client = destination._get_storage()
            outcome = upload_copy(client, archive_path, object_name, self.sha256)
            self._record_copy(destination.id, object_name, outcome, client.describe())
        self._fail_missing_copies(destinations)

    def _fail_missing_copies(self, destinations):
        """Mark the backup failed unless it has a verified copy on each of ``destinations`` (and one at least)."""
        self.ensure_one()
        failed = self.copy_ids.filtered(lambda c: c.state == "failed")
        if not destinations:
            self._mark_failed(_("No destination is configured."))
        elif failed:
            self._mark_failed(_(
                "The archive could not be stored on every destination:\n%(errors)s",
                errors="\n".join(f"{copy.destination_id.name}: {copy.error}" for copy in failed),
            ))

    def _fail_with(self, error):
        """Mark the backup (full, or journal batch) failed because of ``error``, said in the user's language.

        A key problem is a refusal: nothing was written in clear.
        """
        self.ensure_one()
        text = error_text(self.env, error)
        refused = isinstance(error, crypto.BackupKeyError)
        if self.kind == "journal":
            if refused:
                message = _("The journal batch was refused: %(error)s", error=text)
            else:
                message = _("The journal batch failed: %(error)s", error=text)
        elif refused:
            message = _("The backup was refused: %(error)s", error=text)
        else:
            message = _("The backup failed: %(error)s", error=text)
        self._mark_failed(message)

    def _mark_failed(self, message):
        """Record a failure and alert the backup administrators."""
        for backup in self:
            error = "\n".join(filter(None, [backup.error, str(message)]))
            backup._sdb_process_write({"state": "failed", "error": error})
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
            running = self._get_running_full_backup(company)
            if running:
                _logger.warning("Full backup of %s skipped: %s is still running.", company.name, running.name)
                continue
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
            tests |= tests._run_restore_test(latest)
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
                errors.append(f"{copy.destination_id.name}: {error_text(self.env, exc)}")
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
