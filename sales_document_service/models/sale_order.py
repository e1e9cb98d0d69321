from odoo import fields, models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    service_request_ids = fields.One2many("sales.service.request", "sale_order_id", string="Service requests")
    service_request_count = fields.Integer(compute="_compute_service_request_count")

    def _compute_service_request_count(self):
        counts = dict(self.env["sales.service.request"]._read_group(
            [("sale_order_id", "in", self.ids)], ["sale_order_id"], ["__count"]
        )) if self.ids else {}
        for order in self:
            order.service_request_count = counts.get(order, 0)

    def action_view_service_requests(self):
        """The service requests filed about this order."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sales_document_service.sales_service_request_action")
        action["domain"] = [("sale_order_id", "=", self.id)]
        action["context"] = {
            "default_sale_order_id": self.id,
            "default_partner_id": self.partner_id.commercial_partner_id.id,
        }
        return action

    def _portal_service_requests(self):
        """The order's service requests the visitor of its portal page may read."""
        self.ensure_one()
        # The portal page holds the order as superuser; the requests are
        # searched with the visitor's own rights.
        user_self = self.sudo(False)
        Request = user_self.env["sales.service.request"]
        if user_self.env.user._is_public() or not Request.has_access("read"):
            return Request
        return Request.search([("sale_order_id", "=", self.id)])
