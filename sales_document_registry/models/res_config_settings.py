from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    sales_duplicate_days = fields.Integer(
        related="company_id.sales_duplicate_days", readonly=False
    )
    sales_duplicate_tolerance = fields.Float(
        related="company_id.sales_duplicate_tolerance", readonly=False
    )
