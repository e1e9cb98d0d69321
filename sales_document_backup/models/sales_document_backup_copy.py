from odoo import fields, models


class SalesDocumentBackupCopy(models.Model):
    """One copy of a backup archive on one destination, verified after upload."""

    _name = "sales.document.backup.copy"
    _description = "Backup Copy"
    _order = "id desc"

    backup_id = fields.Many2one("sales.document.backup", required=True, ondelete="cascade", index=True)
    destination_id = fields.Many2one(
        "sales.document.backup.destination", required=True, ondelete="restrict", index=True
    )
    company_id = fields.Many2one(related="backup_id.company_id", store=True)
    object_name = fields.Char(string="Object", required=True)
    state = fields.Selection(
        [("done", "Verified"), ("failed", "Failed"), ("deleted", "Deleted by retention")],
        required=True,
        default="failed",
    )
    # Float: archives pass 2 GiB, beyond a PostgreSQL integer.
    size = fields.Float(string="Size (bytes)", digits=(16, 0))
    sha256 = fields.Char(string="SHA-256")
    error = fields.Text()
