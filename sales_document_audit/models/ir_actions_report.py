from odoo import models

from .sales_document_audit_rule import DOCUMENT_MODELS


class IrActionsReport(models.Model):
    _inherit = "ir.actions.report"

    def _render_qweb_pdf(self, report_ref, res_ids=None, data=None):
        result = super()._render_qweb_pdf(report_ref, res_ids=res_ids, data=data)
        report = self._get_report(report_ref)
        if report.model in DOCUMENT_MODELS and res_ids:
            ids = [res_ids] if isinstance(res_ids, int) else list(res_ids)
            records = self.env[report.model].browse(ids)
            self.env["sales.document.audit.log"]._log_access(records, "print", {"report": report.report_name})
        return result
