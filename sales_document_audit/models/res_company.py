from odoo import api, fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    sales_strict_own_customers = fields.Boolean(
        string="Salespeople see only their own customers",
        default=True,
        help="A salesperson sees a sales document only when they are the salesperson of the document "
        "or of its customer; unassigned orders are hidden too.",
    )
    audit_frequency_limit = fields.Integer(
        string="Accesses to one document before an alert", default=20,
    )
    audit_frequency_window = fields.Integer(string="Access window (minutes)", default=10)
    audit_denied_limit = fields.Integer(string="Denied attempts before an alert", default=1)
    audit_export_limit = fields.Integer(string="Rows exported before an alert", default=500)
    audit_off_hours_enabled = fields.Boolean(string="Alert on off-hours activity", default=True)
    audit_office_hour_start = fields.Float(string="Office hours from", default=6.0)
    audit_office_hour_end = fields.Float(string="Office hours to", default=22.0)
    audit_edit_after_validation = fields.Boolean(string="Alert on edits after validation", default=True)
    audit_retention_days = fields.Integer(
        string="Archive audit entries after (days)",
        default=0,
        help="Sealed audit entries older than this are archived (kept, out of the default views). "
        "0 keeps them active forever.",
    )

    # Also while a module is uninstalled: its data may hold a user or a company the trail names.
    @api.ondelete(at_uninstall=True)
    def _unlink_except_named_in_audit_trail(self):
        self.env["sales.document.audit.log"]._refuse_deleting_named(self, "company_id")

    def write(self, vals):
        result = super().write(vals)
        if "sales_strict_own_customers" in vals:
            # Record rules read the setting: their cached domains are stale.
            self.env.registry.clear_cache()
        return result
