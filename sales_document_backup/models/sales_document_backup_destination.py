from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from .. import settings
from ..lib import retention, storage


class SalesDocumentBackupDestination(models.Model):
    """Where backups and journal batches are copied: a local directory or an
    S3-compatible bucket. Credentials are read from the server configuration
    by the destination's code, never stored here."""

    _name = "sales.document.backup.destination"
    _description = "Backup Destination"
    _order = "company_id, sequence, id"

    # ------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------

    name = fields.Char(compute="_compute_name", store=True, readonly=False, required=True, precompute=True)
    code = fields.Char(
        help="Short identifier (lowercase letters, digits, underscores) naming the "
        "credential options of this destination in the server configuration, e.g. "
        "sales_backup_s3_<code>_access_key. Without a code, the shared options "
        "sales_backup_s3_access_key / sales_backup_s3_secret_key apply.",
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    kind = fields.Selection(
        [("local", "Local directory"), ("s3", "S3-compatible storage")],
        required=True,
        default="local",
    )
    path = fields.Char(string="Directory", help="Absolute directory on the Odoo server.")
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

    @api.constrains("kind", "path", "bucket")
    def _check_location(self):
        for destination in self:
            if destination.kind == "local" and not (destination.path or "").startswith("/"):
                raise ValidationError(_("A local destination needs an absolute directory path."))
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
        """Start a full backup to this destination now; returns the backup record.

        The backup runs in its own process and is returned ``running``; its
        progress and final state (``done``, or ``failed`` with the error)
        appear on the record. With ``sales_backup_detached = False`` it runs
        here and is returned ``done`` or ``failed``. A failed backup never
        raises, so the failure is kept.
        """
        self.ensure_one()
        return self.env["sales.document.backup"]._run_full_backup(self)

    def action_backup_now_open(self):
        """Button: run a backup and open it."""
        backup = self.action_backup_now()
        return backup._get_form_action()

    def action_check_connection(self):
        """Button: check the destination is reachable and writable."""
        self.ensure_one()
        try:
            self._get_storage().check()
        except storage.StorageError as exc:
            raise UserError(_("The destination %(name)s cannot be used: %(error)s", name=self.name, error=exc)) from None
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

    def _get_storage(self):
        """The plain-Python storage client for this destination."""
        self.ensure_one()
        prefix = (self.prefix or "").strip("/")
        if self.kind == "local":
            import os

            return storage.LocalStorage(os.path.join(self.path, prefix) if prefix else self.path)
        return storage.S3Storage(
            self.bucket,
            endpoint_url=self.endpoint_url or None,
            prefix=prefix,
            credentials=settings.s3_credentials(self.code),
            multipart_threshold=int(settings.get_option("s3_multipart_threshold", 64 * 1024 * 1024)),
        )

    def _apply_retention(self):
        """Delete the copies the retention policy no longer keeps.

        The newest backup and the newest backup that passed a restore test
        are always kept. Returns the deleted copies.
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
            if expired:
                client = destination._get_storage()
                for copy in expired:
                    try:
                        client.delete(copy.object_name)
                    except storage.StorageError as exc:
                        copy.error = str(exc)
                        continue
                    copy.state = "deleted"
                    deleted |= copy
        return deleted

    @api.model
    def _cron_apply_retention(self):
        """Scheduled: apply every destination's retention policy."""
        self.search([])._apply_retention()
