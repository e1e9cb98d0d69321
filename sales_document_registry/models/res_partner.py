from odoo import api, fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    sales_document_count = fields.Integer(
        string="Sales documents", compute="_compute_sales_document_count"
    )

    @api.depends_context("uid")
    def _compute_sales_document_count(self):
        commercial = self.commercial_partner_id
        counts = dict(self.env["sales.document"]._read_group(
            [("partner_id", "in", commercial.ids)], ["partner_id"], ["__count"],
        ))
        counts = {partner.id: count for partner, count in counts.items()}
        for partner in self:
            partner.sales_document_count = counts.get(partner.commercial_partner_id.id, 0)

    def write(self, vals):
        result = super().write(vals)
        if "user_id" in vals:
            # The registry's triggers queue the customers whose salesperson
            # changed; the job sets their rows again once this commits.
            self.env["sales.document"]._trigger_resync_partner_users()
        return result

    def action_open_sales_documents(self):
        """Full transaction history of the customer, across all document types."""
        self.ensure_one()
        return self.env["sales.document"].action_open_for_partner(self.ids)
