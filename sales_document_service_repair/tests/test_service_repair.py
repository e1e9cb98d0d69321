from lxml import etree

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from odoo.addons.sales_document_service.tests.common import ServiceCase


@tagged("post_install", "-at_install")
class TestServiceRepair(ServiceCase):
    def test_create_repair_order_from_request(self):
        """The repair order is made for the request's customer and product, and linked both ways."""
        order = self._confirmed_order()
        request = self._request(order, request_type="repair", partner_id=self.customer_contact.id,
                                product_ids=[Command.set(self.product.ids)], description="Broken hinge")
        action = request.action_create_repair_order()
        repair = self.env["repair.order"].browse(action["res_id"])
        self.assertEqual(action["res_model"], "repair.order")
        self.assertEqual(
            (repair.service_request_id, repair.partner_id, repair.product_id, repair.company_id),
            (request, self.customer_contact, self.product, self.company),
        )
        self.assertEqual((request.repair_order_ids, request.repair_order_count), (repair, 1))
        self.assertEqual(request.action_view_repair_orders()["domain"], [("service_request_id", "=", request.id)])
        request.stage_id = self.stage_done
        with self.assertRaises(UserError):
            request.action_create_repair_order()

    def test_salesperson_without_inventory_rights_cannot_create_repairs(self):
        """Creating the repair order takes the user's own Repairs rights."""
        request = self._request(request_type="repair")
        with self.assertRaises(AccessError):
            request.with_user(self.salesman).action_create_repair_order()
        self.assertFalse(request.repair_order_ids)

    def test_salesperson_still_opens_deliveries(self):
        """With Repairs installed, a salesperson still opens their order's delivery form."""
        order = self._confirmed_order()
        Picking = self.env["stock.picking"].with_user(self.salesman)
        # What the web client does: load the form view, then read the fields it shows.
        arch = etree.fromstring(Picking.get_views([(False, "form")])["views"]["form"]["arch"])
        names = {node.get("name") for node in arch.xpath("//field[not(ancestor::field)]")}
        self.assertNotIn("repair_ids", names, "the repairs of a delivery are for inventory users")
        values = Picking.browse(order.picking_ids.id).web_read({name: {} for name in names})
        self.assertEqual(values[0]["id"], order.picking_ids.id)
