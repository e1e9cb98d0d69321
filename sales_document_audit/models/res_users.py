from odoo import api, models


class ResUsers(models.Model):
    _inherit = "res.users"

    # Also while a module is uninstalled: its data may hold a user or a company the trail names.
    @api.ondelete(at_uninstall=True)
    def _unlink_except_named_in_audit_trail(self):
        self.env["sales.document.audit.log"]._refuse_deleting_named(self, "user_id")
