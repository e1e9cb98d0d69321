from odoo import api, models


class SalesDocumentFlow(models.TransientModel):
    _inherit = "sales.document.flow"

    @api.model
    def _get_orders(self, record):
        """An opportunity's chain is the chain of the orders made from it."""
        if record._name == "crm.lead":
            return record.order_ids
        return super()._get_orders(record)
