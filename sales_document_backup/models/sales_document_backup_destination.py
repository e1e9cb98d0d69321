import os

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from .. import settings
from ..errors import error_text
from ..lib import retention, storage


class SalesDocumentBackupDestination(models.Model):
    """Where backups and journal batches are copied: a local directory inside
    the roots the server configuration allows, or an S3-compatible bucket.
    Credentials are read from the server configuration by the destination's
    company and code, never stored here."""

    _name = "sales.document.backup.destination"
    _description = "Backup Destination"
    _order = "company_id, sequence, id"

    # ------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------

    name = fields.Char(compute="_compute_name", store=True, readonly=False, required=True, precompute=True)
    code = fields.Char(
        help="Short identifier (lowercase letters, digits, underscores) naming, with the "
        "company's ID, the credential options of this destination in the server "
        "configuration, e.g. sales_backup_s3_company1_<code>_access_key. Without them, the "
        "server-wide options sales_backup_s3_access_key / sales_backup_s3_secret_key apply.",
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    kind = fields.Selection(
        [("local", "Local directory"), ("s3", "S3-compatible storage")],
        required=True,
        default="local",
    )
    path = fields.Char(
        string="Directory",
        help="Absolute directory on the Odoo server, inside one of the directories the server "
        "configuration allows for backups (option sales_backup_allowed_roots).",
    )
    bucket = fields.Char()
    endpoint_url = fields.Char(
        string="Endpoint URL",
        help="Leave empty for AWS S3; set it for MinIO, Ceph or another S3-compatible server.",
    )
    prefix = fields.Char(help="Folder inside the bucket or directory where objects are written.")
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    journal_enabled = fields.Boolean(
        string="Document Journal",
        default=True,
        help="Also receive the document journal (snapshots of confirmed, posted, "
        "validated, paid or cancelled documents).",
    )
    retention_daily = fields.Integer(string="Daily Backups Kept", default=7)
    retention_weekly = fields.Integer(string="Weekly Backups Kept", default=4)
    retention_monthly = fields.Integer(string="Monthly Backups Kept", default=12)
    copy_ids = fields.One2many("sales.document.backup.copy", "destination_id", string="Copies")
    last_copy_id = fields.Many2one(
        "sales.document.backup.copy", compute="_compute_last_copy", string="Last Copy"
    )
    last_copy_state = fields.Selection(
        [("done", "Verified"), ("failed", "Failed"), ("deleted", "Deleted by retention")],
        compute="_compute_last_copy",
        string="Last Copy Status",
    )
    last_copy_date = fields.Datetime(compute="_compute_last_copy", string="Last Copy Date")

    _sql_constraints = [
        ("code_company_uniq", "unique(code, company_id)", "The destination code must be unique per company."),
    ]

    # ------------------------------------------------------------
    # Compute and constraints
    # ------------------------------------------------------------

    @api.depends("kind", "path", "bucket", "prefix")
    def _compute_name(self):
        for destination in self:
            if destination.name:
                continue
            where = destination.path if destination.kind == "local" else destination.bucket
            destination.name = "/".join(filter(None, [where, destination.prefix])) or _("New destination")

    def _compute_last_copy(self):
        for destination in self:
            last = self.env["sales.document.backup.copy"].search(
                [("destination_id", "=", destination.id)], order="id desc", limit=1
            )
            destination.last_copy_id = last
            destination.last_copy_state = last.state
            destination.last_copy_date = last.create_date

    @api.constrains("code")
    def _check_code(self):
        for destination in self:
            if destination.code and not settings.CODE_PATTERN.match(destination.code):
                raise ValidationError(
                    _(
                        "The code %(code)s may only contain lowercase letters, digits and underscores.",
                        code=destination.code,
                    )
                )

    @api.constrains("kind", "path", "bucket", "prefix")
    def _check_location(self):
        for destination in self:
            segments = (destination.prefix or "").strip("/").split("/")
            if any(segment in (".", "..") for segment in segments):
                raise ValidationError(_("The prefix %(prefix)s may not contain . or .. folders.",
                                        prefix=destination.prefix))
            if destination.kind == "local":
                if not (destination.path or "").startswith("/"):
                    raise ValidationError(_("A local destination needs an absolute directory path."))
                if not destination._get_allowed_directory():
                    raise ValidationError(destination._get_outside_roots_message())
            if destination.kind == "s3" and not destination.bucket:
                raise ValidationError(_("An S3 destination needs a bucket."))

    @api.constrains("retention_daily", "retention_weekly", "retention_monthly")
    def _check_retention(self):
        for destination in self:
            counts = (destination.retention_daily, destination.retention_weekly, destination.retention_monthly)
            if min(counts) < 0 or not sum(counts):
                raise ValidationError(
                    _("Retention counts cannot be negative, and at least one backup must be kept.")
                )

    # ------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------

    def action_backup_now(self):
        """Start a full backup to this destination now; returns a window
        action whose ``res_id`` is the new ``sales.document.backup``.

        The backup runs in its own process and is ``running`` meanwhile; its
        progress and final state (``done``, or ``failed`` with the error)
        appear on the record. With ``sales_backup_detached = False`` it runs
        here and is ``done`` or ``failed`` when this returns. A failed backup
        never raises, so the failure is kept.
        """
        self.ensure_one()
        return self.env["sales.document.backup"]._run_full_backup(self)._get_form_action()

    def action_backup_now_open(self):
        """Button: run a backup and open it."""
        return self.action_backup_now()

    def action_check_connection(self):
        """Button: check the destination is reachable and writable."""
        self.ensure_one()
        try:
            self._get_storage().check()
        except storage.StorageError as exc:
            raise UserError(_(
                "The destination %(name)s cannot be used: %(error)s", name=self.name, error=error_text(self.env, exc)
            )) from None
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": _("The destination %(name)s is reachable.", name=self.name),
            },
        }

    # ------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------

    def _get_allowed_directory(self):
        """The directory of a local destination (path and prefix, symbolic
        links and ``..`` resolved) when it lies inside an allowed root, else None."""
        self.ensure_one()
        prefix = (self.prefix or "").strip("/")
        path = os.path.join(self.path, prefix) if prefix and self.path else self.path
        return storage.resolve_within(path, settings.allowed_roots())

    def _get_outside_roots_message(self):
        self.ensure_one()
        return _(
            "The directory %(path)s is outside the directories allowed for backups (%(roots)s). "
            "A server administrator allows directories with the option sales_backup_allowed_roots.",
            path=self.path, roots=", ".join(settings.allowed_roots()) or "-",
        )

    def _get_storage(self):
        """The plain-Python storage client for this destination.

        A local directory is checked against the allowed roots here too, each
        time: the server configuration may have changed since it was saved.
        """
        self.ensure_one()
        prefix = (self.prefix or "").strip("/")
        if self.kind == "local":
            directory = self._get_allowed_directory()
            if not directory:
                raise storage.StorageError(self._get_outside_roots_message())
            return storage.LocalStorage(directory)
        return storage.S3Storage(
            self.bucket,
            endpoint_url=self.endpoint_url or None,
            prefix=prefix,
            credentials=settings.s3_credentials(self.company_id.id, self.code),
            multipart_threshold=int(settings.get_option("s3_multipart_threshold", 64 * 1024 * 1024)),
        )

    def _apply_retention(self):
        """Delete the copies the retention policy no longer keeps.

        The newest backup and the newest backup that passed a restore test
        are always kept. Only objects this addon wrote are deleted: the copy
        must carry the name its backup writes and the location it was written
        to must still be this destination's. Returns the deleted copies.
        """
        Copy = self.env["sales.document.backup.copy"]
        deleted = Copy
        for destination in self:
            copies = Copy.search([
                ("destination_id", "=", destination.id),
                ("state", "=", "done"),
                ("backup_id.kind", "=", "full"),
            ])
            if not copies:
                continue
            protected = set(copies.backup_id._get_protected_backups().ids)
            keep = retention.select_kept(
                [(c.backup_id.id, c.backup_id.date) for c in copies],
                daily=destination.retention_daily,
                weekly=destination.retention_weekly,
                monthly=destination.retention_monthly,
                protected=protected,
            )
            expired = copies.filtered(lambda c, keep=keep: c.backup_id.id not in keep)
            if not expired:
                continue
            try:
                client = destination._get_storage()
            except storage.StorageError as exc:
                expired._sdb_process_write({"error": error_text(self.env, exc)})
                continue
            for copy in expired:
                refusal = copy._get_retention_refusal(client)
                if refusal:
                    copy._sdb_process_write({"error": refusal})
                    continue
                try:
                    client.delete(copy.object_name)
                except storage.StorageError as exc:
                    copy._sdb_process_write({"error": error_text(self.env, exc)})
                    continue
                copy._sdb_process_write({"state": "deleted"})
                deleted |= copy
        return deleted

    @api.model
    def _cron_apply_retention(self):
        """Scheduled: apply every destination's retention policy."""
        self.search([])._apply_retention()
