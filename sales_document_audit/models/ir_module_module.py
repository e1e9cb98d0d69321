from odoo import models
from odoo.exceptions import UserError

AUDIT_MODULE = "sales_document_audit"


class IrModuleModule(models.Model):
    """The audit addon refuses to be uninstalled before its trail was exported and verified."""

    _inherit = "ir.module.module"

    def button_uninstall(self):
        self._sd_check_audit_uninstall()
        return super().button_uninstall()

    def module_uninstall(self):
        self._sd_check_audit_uninstall()
        return super().module_uninstall()

    def _sd_check_audit_uninstall(self):
        if AUDIT_MODULE not in self.mapped("name"):
            return
        blocker = self.env["sales.document.audit.export"]._sd_uninstall_blocker()
        if blocker:
            raise UserError(blocker)
