from odoo import api, models


class SalesDocumentFlow(models.TransientModel):
    _inherit = "sales.document.flow"

    @api.model
    def _get_orders(self, record):
        """A service request's chain is the chain of the order it is about."""
        if record._name == "sales.service.request":
            return record.sale_order_id
        return super()._get_orders(record)

    @api.model
    def _order_data(self, order):
        data = super()._order_data(order)
        # The requests the user may read (the flow shows only readable documents).
        requests = self.env["sales.service.request"].search([("sale_order_id", "=", order.id)], order="id")
        data["services"] = [self._doc(request) for request in requests]
        return data
