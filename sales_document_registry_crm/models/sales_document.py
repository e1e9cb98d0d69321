from dataclasses import replace

from odoo import api, fields, models

from odoo.addons.sales_document_registry.tools import registry_store

# Opportunities as registry rows: the customer is the commercial partner of
# the opportunity's contact, the amount its expected revenue in the company's
# currency; won (100 %) is done, lost (archived at 0 %) cancelled.
OPPORTUNITIES = registry_store.DocumentSource(
    "crm_lead",
    "crm.lead",
    5,
    """'opportunity', 'crm.lead', t.id, t.name,
       (SELECT p.commercial_partner_id FROM res_partner p WHERE p.id = t.partner_id),
       t.user_id, t.team_id, t.company_id,
       COALESCE(t.date_closed, t.create_date)::date, t.expected_revenue,
       (SELECT c.currency_id FROM res_company c WHERE c.id = t.company_id),
       CASE WHEN t.probability >= 100 THEN 'done'
            WHEN NOT COALESCE(t.active, TRUE) AND COALESCE(t.probability, 0) = 0 THEN 'cancelled'
            ELSE 'open' END,
       NULL::integer, COALESCE(t.active, TRUE)""",
    "t.type = 'opportunity'",
    access_fields=(
        ("user_id", "user_id"),
        ("team_id", "team_id"),
        ("partner_id.commercial_partner_id", "partner_id"),
        ("partner_id.commercial_partner_id.user_id", "partner_user_id"),
    ),
)
OPPORTUNITY_TAGS = registry_store.TagSource("crm_tag_rel", "lead_id", 5)


class SalesDocument(models.Model):
    _inherit = "sales.document"

    doc_type = fields.Selection(selection_add=[("opportunity", "Opportunity")], ondelete={"opportunity": "cascade"})

    @api.model
    def _registry_layout(self):
        layout = super()._registry_layout()
        return replace(
            layout,
            documents=(*layout.documents, OPPORTUNITIES),
            tags=(*layout.tags, OPPORTUNITY_TAGS),
        )


class SalesDocumentSummary(models.Model):
    _inherit = "sales.document.summary"

    doc_type = fields.Selection(selection_add=[("opportunity", "Opportunity")], ondelete={"opportunity": "cascade"})
