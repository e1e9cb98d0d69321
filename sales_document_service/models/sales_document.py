from dataclasses import replace

from odoo import api, fields, models

from odoo.addons.sales_document_registry.tools import registry_store

# Service requests as registry rows: the customer is the request's
# commercial partner, the salesperson its responsible, the date the day it
# was filed; it carries no amount (0 in the company's currency). Resolved
# requests are done, cancelled ones cancelled, the others open. The order
# the request is about makes it part of that order's flow.
SERVICE_REQUESTS = registry_store.DocumentSource(
    "sales_service_request",
    "sales.service.request",
    6,
    """'service', 'sales.service.request', t.id, t.name,
       t.partner_id, t.user_id, t.team_id, t.company_id,
       t.date_request::date, 0.0,
       (SELECT c.currency_id FROM res_company c WHERE c.id = t.company_id),
       CASE t.state WHEN 'done' THEN 'done' WHEN 'cancelled' THEN 'cancelled' ELSE 'open' END,
       t.sale_order_id, COALESCE(t.active, TRUE)""",
)
SERVICE_REQUEST_TAGS = registry_store.TagSource("sales_service_request_crm_tag_rel", "request_id", 6)


class SalesDocument(models.Model):
    _inherit = "sales.document"

    doc_type = fields.Selection(selection_add=[("service", "Service request")], ondelete={"service": "cascade"})

    @api.model
    def _registry_layout(self):
        layout = super()._registry_layout()
        return replace(
            layout,
            documents=(*layout.documents, SERVICE_REQUESTS),
            tags=(*layout.tags, SERVICE_REQUEST_TAGS),
        )


class SalesDocumentSummary(models.Model):
    _inherit = "sales.document.summary"

    doc_type = fields.Selection(selection_add=[("service", "Service request")], ondelete={"service": "cascade"})
