from datetime import timedelta

from odoo import _, api, fields, models, tools
from odoo.tools import SQL

DEFAULT_MAX_VERIFIED_AGE_DAYS = 8


class SalesDocumentBackupDashboard(models.Model):
    """One row per company: where its backups stand (read-only view)."""

    _name = "sales.document.backup.dashboard"
    _description = "Backup Dashboard"
    _auto = False
    _order = "company_id"

    company_id = fields.Many2one("res.company", readonly=True)
    last_backup_id = fields.Many2one("sales.document.backup", compute="_compute_status", string="Last Backup")
    last_backup_date = fields.Datetime(compute="_compute_status", string="Last Backup Date")
    last_backup_state = fields.Selection(
        [("running", "Running"), ("done", "Done"), ("failed", "Failed")],
        compute="_compute_status",
        string="Last Backup Status",
    )
    last_backup_size = fields.Char(compute="_compute_status", string="Last Backup Size")
    running_backup_id = fields.Many2one("sales.document.backup", compute="_compute_status", string="Running Backup")
    running_progress = fields.Float(compute="_compute_status", string="Backup Progress (%)")
    running_progress_display = fields.Char(compute="_compute_status", string="Backup Progress")
    last_verified_backup_id = fields.Many2one(
        "sales.document.backup", compute="_compute_status", string="Last Verified Backup"
    )
    last_verified_date = fields.Datetime(compute="_compute_status", string="Last Verified Backup Date")
    verified_age_days = fields.Float(compute="_compute_status", string="Age of Verified Backup (days)", digits=(16, 1))
    backup_age_days = fields.Float(compute="_compute_status", string="Age of Last Backup (days)", digits=(16, 1))
    queued_journal_count = fields.Integer(compute="_compute_status", string="Queued Journal Entries")
    status = fields.Selection(
        [("ok", "OK"), ("warning", "Warning"), ("danger", "Alert")], compute="_compute_status"
    )
    status_message = fields.Char(compute="_compute_status")

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL("CREATE OR REPLACE VIEW %s AS (SELECT id, id AS company_id FROM res_company)", SQL.identifier(self._table))
        )

    @api.model
    def _max_verified_age(self):
        # sudo: a system parameter, readable by administrators only; every backup user sees the dashboard.
        param = self.env["ir.config_parameter"].sudo().get_param(
            "sales_document_backup.max_verified_age_days", DEFAULT_MAX_VERIFIED_AGE_DAYS
        )
        try:
            return float(param)
        except ValueError:
            return DEFAULT_MAX_VERIFIED_AGE_DAYS

    def _compute_status(self):
        Backup = self.env["sales.document.backup"]
        now = fields.Datetime.now()
        max_age = self._max_verified_age()
        for row in self:
            domain = [("company_id", "=", row.company_id.id), ("kind", "=", "full")]
            last = Backup.search(domain, order="date desc, id desc", limit=1)
            verified = Backup.search(domain + [("verified", "=", True)], order="date desc, id desc", limit=1)
            row.last_backup_id = last
            row.last_backup_date = last.date
            row.last_backup_state = last.state
            row.last_backup_size = last.size_display
            running = Backup.search(domain + [("state", "=", "running")], order="date desc, id desc", limit=1)
            row.running_backup_id = running
            row.running_progress = running.progress
            row.running_progress_display = running.progress_display
            row.last_verified_backup_id = verified
            row.last_verified_date = verified.date
            row.backup_age_days = (now - last.date) / timedelta(days=1) if last else 0.0
            row.verified_age_days = (now - verified.date) / timedelta(days=1) if verified else 0.0
            row.queued_journal_count = self.env["sales.document.backup.journal"].search_count(
                [("company_id", "=", row.company_id.id), ("state", "=", "queued")]
            )
            row.status, row.status_message = row._get_status(last, verified, max_age)

    def _get_status(self, last, verified, max_age):
        """(status, message) for the dashboard card."""
        if not last:
            return "danger", _("No full backup has been made yet.")
        if last.state == "failed":
            first = (last.error or "").splitlines()[:1]
            return "danger", _("The last backup failed: %(error)s", error=first[0] if first else "")
        if not verified:
            return "danger", _("No backup has passed a restore test yet.")
        if self.verified_age_days > max_age:
            return "danger", _(
                "The last verified backup is %(age).1f days old (limit %(limit)s days).",
                age=self.verified_age_days, limit=max_age,
            )
        if last.state == "running":
            return "warning", _("A backup is running (%(progress)s).", progress=last.progress_display)
        return "ok", _("Backups are current and verified.")

    @api.model
    def _cron_check_verified_age(self):
        """Scheduled daily: alert the administrators when backups are not verified recently."""
        alerts = self.browse()
        for row in self.search([]):
            if row.status == "danger" and row.last_backup_id:
                row.last_backup_id._alert_managers(_("Backups need attention"), row.status_message)
                alerts |= row
        return alerts
