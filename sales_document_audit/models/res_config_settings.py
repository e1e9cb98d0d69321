from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    sales_strict_own_customers = fields.Boolean(
        related="company_id.sales_strict_own_customers", readonly=False
    )
    audit_frequency_limit = fields.Integer(related="company_id.audit_frequency_limit", readonly=False)
    audit_frequency_window = fields.Integer(related="company_id.audit_frequency_window", readonly=False)
    audit_denied_limit = fields.Integer(related="company_id.audit_denied_limit", readonly=False)
    audit_export_limit = fields.Integer(related="company_id.audit_export_limit", readonly=False)
    audit_off_hours_enabled = fields.Boolean(related="company_id.audit_off_hours_enabled", readonly=False)
    audit_office_hour_start = fields.Float(related="company_id.audit_office_hour_start", readonly=False)
    audit_office_hour_end = fields.Float(related="company_id.audit_office_hour_end", readonly=False)
    audit_edit_after_validation = fields.Boolean(
        related="company_id.audit_edit_after_validation", readonly=False
    )
    audit_retention_days = fields.Integer(related="company_id.audit_retention_days", readonly=False)
