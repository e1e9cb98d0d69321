from odoo import _, api, fields, models
from odoo.exceptions import UserError


class SalesServiceRequest(models.Model):
    _inherit = "sales.service.request"

    repair_order_ids = fields.One2many("repair.order", "service_request_id", string="Repair orders")
    repair_order_count = fields.Integer(compute="_compute_repair_order_count")

    @api.depends("repair_order_ids")
    def _compute_repair_order_count(self):
        for request in self:
            request.repair_order_count = len(request.repair_order_ids)

    def action_create_repair_order(self):
        """Create a repair order for the request's product and open it."""
        self.ensure_one()
        if self.state != "open":
            raise UserError(_("Only an open service request can get a repair order."))
        repair = self.env["repair.order"].create(self._prepare_repair_order_vals())
        return {
            "type": "ir.actions.act_window",
            "res_model": "repair.order",
            "res_id": repair.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }

    def _prepare_repair_order_vals(self):
        self.ensure_one()
        returns = self.return_picking_ids.filtered(lambda picking: picking.state != "cancel")
        vals = {
            "service_request_id": self.id,
            "partner_id": (self.contact_id or self.partner_id).id,
            "company_id": self.company_id.id,
            "internal_notes": self.description or False,
        }
        if self.product_ids:
            vals["product_id"] = self.product_ids[:1].id
        if returns:
            vals["picking_id"] = returns[:1].id
        return vals

    def action_view_repair_orders(self):
        """The repair orders made for this request."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("repair.action_repair_order_tree")
        action["domain"] = [("service_request_id", "=", self.id)]
        action["context"] = {"default_service_request_id": self.id}
        return action
