from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    sales_duplicate_days = fields.Integer(
        related="company_id.sales_duplicate_days", readonly=False
    )
    sales_duplicate_tolerance = fields.Float(
        related="company_id.sales_duplicate_tolerance", readonly=False
    )

    def action_verify_sales_document_store(self):
        """Settings button: verify the registry against the documents, repair it if needed."""
        return self.env["sales.document"].action_verify_store()
