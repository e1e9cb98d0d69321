from odoo import _, fields, models


class SalesDocumentBackupCopy(models.Model):
    """One copy of a backup archive on one destination, verified after upload.

    Written by the backup process only: retention deletes ``object_name`` at
    ``location``, so neither can come from a client.
    """

    _name = "sales.document.backup.copy"
    _description = "Backup Copy"
    _inherit = ["sales.document.backup.process.mixin"]
    _order = "id desc"
    _sdb_process_fields = (
        "backup_id", "destination_id", "object_name", "location", "state", "size", "sha256", "error",
    )

    backup_id = fields.Many2one("sales.document.backup", required=True, ondelete="cascade", index=True)
    destination_id = fields.Many2one(
        "sales.document.backup.destination", required=True, ondelete="restrict", index=True
    )
    company_id = fields.Many2one(related="backup_id.company_id", store=True)
    object_name = fields.Char(string="Object", required=True)
    location = fields.Char(
        readonly=True,
        help="Where the object was written (directory or bucket and prefix). Retention deletes "
        "the object only while its destination still points there.",
    )
    state = fields.Selection(
        [("done", "Verified"), ("failed", "Failed"), ("deleted", "Deleted by retention")],
        required=True,
        default="failed",
    )
    # Float: archives pass 2 GiB, beyond a PostgreSQL integer.
    size = fields.Float(string="Size (bytes)", digits=(16, 0))
    sha256 = fields.Char(string="SHA-256")
    error = fields.Text()

    def _get_retention_refusal(self, client):
        """Why retention must not delete this copy's object through ``client``
        (a storage client of its destination), or None: the object must have
        the name its backup writes and still be where it was written."""
        self.ensure_one()
        if self.object_name != self.backup_id._get_own_object_name():
            return _(
                "Kept by retention: %(name)s is not the name this backup writes.", name=self.object_name
            )
        if self.location != client.describe():
            return _(
                "Kept by retention: the destination no longer points where %(name)s was written (%(location)s).",
                name=self.object_name, location=self.location or "-",
            )
        return None
