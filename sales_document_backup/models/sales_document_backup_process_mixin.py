from odoo import _, api, models
from odoo.exceptions import AccessError

from odoo.addons.sales_document_registry.tools.server_grant import ServerGrant

# Given by ``_sdb_process_create`` / ``_sdb_process_write`` only.
PROCESS_WRITE = ServerGrant("sales_document_backup_process_write")


class SalesDocumentBackupProcessMixin(models.AbstractModel):
    """Fields that only the backup process writes.

    Paths, object names, checksums, states and reports decide what scheduled
    jobs later read, trust and delete. Clients (RPC, import, views) may not
    create or write them; the addon's own code does so through
    ``_sdb_process_create`` and ``_sdb_process_write``, or as the superuser.
    Models list those fields in ``_sdb_process_fields``.
    """

    _name = "sales.document.backup.process.mixin"
    _description = "Fields Written Only by the Backup Process"

    _sdb_process_fields = ()

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        self._sdb_check_process_fields(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        self._sdb_check_process_fields([vals])
        return super().write(vals)

    # ------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------

    def _get_form_action(self):
        """Window action opening this record: what public actions return, so
        that they answer over XML-RPC and JSON-RPC (a record cannot)."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "current",
        }

    def _sdb_check_process_fields(self, vals_list):
        """Refuse values of process fields unless the server's own code sends them."""
        if self.env.su or PROCESS_WRITE.given(self.env):
            return
        names = sorted({name for vals in vals_list for name in vals if name in self._sdb_process_fields})
        if names:
            # sudo: only the model's label, for the message.
            label = self.env["ir.model"].sudo()._get(self._name).name
            raise AccessError(_(
                "%(fields)s of %(model)s are written only by the backup process, never by hand, "
                "an import or an integration.",
                fields=", ".join(self._fields[name]._description_string(self.env) for name in names),
                model=label,
            ))

    @api.model
    def _sdb_process_create(self, vals_list):
        """Create records whose process fields are set by the addon itself."""
        records = PROCESS_WRITE.give(self).create(vals_list)
        return records.with_env(self.env)

    def _sdb_process_write(self, vals):
        """Write process fields from the addon's own code."""
        return PROCESS_WRITE.give(self).write(vals)
