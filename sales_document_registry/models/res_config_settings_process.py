from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    sales_oversell_mode = fields.Selection(
        related="company_id.sales_oversell_mode", readonly=False
    )
    sales_recon_delivery_days = fields.Integer(
        related="company_id.sales_recon_delivery_days", readonly=False
    )
