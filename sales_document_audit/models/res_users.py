from odoo import api, models


class ResUsers(models.Model):
    _inherit = "res.users"

    @api.ondelete(at_uninstall=False)
    def _unlink_except_named_in_audit_trail(self):
        self.env["sales.document.audit.log"]._refuse_deleting_named(self, "user_id")
