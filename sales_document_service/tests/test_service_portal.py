from odoo.http import Request
from odoo.tests import HttpCase, tagged
from odoo.tests.common import JsonRpcException

from .common import ServiceCase


@tagged("post_install", "-at_install")
class TestServicePortal(HttpCase, ServiceCase):
    """Customers file and rate requests from the portal; every value they send is checked."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.order = cls.env["sale.order"].create({
            "partner_id": cls.customer.id,
            "user_id": cls.salesman.id,
            "payment_term_id": cls.payment_term.id,
            "carrier_id": cls.carrier.id,
            "preferred_payment_method_line_id": cls.payment_method_line.id,
            "order_line": [(0, 0, {"product_id": cls.product.id, "product_uom_qty": 1.0})],
        })
        cls.order.action_confirm()
        cls.order.message_subscribe(partner_ids=cls.customer.ids)
        cls.their_order = cls.env["sale.order"].create({
            "partner_id": cls.other_customer.id,
            "user_id": cls.salesman_2.id,
            "payment_term_id": cls.payment_term.id,
            "carrier_id": cls.carrier.id,
            "preferred_payment_method_line_id": cls.payment_method_line.id,
            "order_line": [(0, 0, {"product_id": cls.product_2.id, "product_uom_qty": 1.0})],
        })
        cls.their_order.action_confirm()

    def _post(self, url, **data):
        return self.url_open(url, data={**data, "csrf_token": Request.csrf_token(self)})

    def _requests(self):
        return self.env["sales.service.request"].search([("partner_id", "in", (self.customer | self.other_customer).ids)])

    def test_file_a_request_from_the_order(self):
        """Good input creates the request as the customer, with the order, delivery and product."""
        self.authenticate("sd_portal", "sd_portal")
        page = self.url_open(f"/my/orders/{self.order.id}?access_token={self.order._portal_ensure_token()}")
        self.assertIn(f"/my/orders/{self.order.id}/service", page.text, "the Request service button")
        form = self.url_open(f"/my/orders/{self.order.id}/service")
        self.assertEqual(form.status_code, 200)
        delivery = self.order.picking_ids
        response = self._post(
            f"/my/orders/{self.order.id}/service",
            request_type="return", description="Wrong colour.", picking_id=str(delivery.id),
            product_id=str(self.product.id),
        )
        request = self._requests()
        self.assertEqual(len(request), 1)
        self.assertEqual(
            (request.partner_id, request.contact_id, request.sale_order_id, request.picking_id, request.product_ids,
             request.request_type, request.user_id, request.create_uid),
            (self.customer, self.customer_contact, self.order, delivery, self.product, "return", self.salesman,
             self.portal_user),
        )
        self.assertTrue(response.url.endswith(f"/my/service/{request.id}"))
        self.assertIn(request.name, response.text)
        listing = self.url_open("/my/service")
        self.assertIn(request.name, listing.text)
        self.assertIn(request.name, self.url_open(f"/my/orders/{self.order.id}").text, "listed on the order page")

    def test_forged_or_missing_values_create_nothing(self):
        """Another customer's order, a foreign delivery or product, or missing fields: nothing is created."""
        self.authenticate("sd_portal", "sd_portal")
        their_delivery = self.their_order.picking_ids
        response = self._post(f"/my/orders/{self.their_order.id}/service", request_type="complaint", description="x")
        self.assertTrue(response.url.endswith("/my/orders"), "another customer's order is not offered")
        response = self._post(f"/my/orders/{self.order.id}/service", request_type="complaint", description="x",
                              picking_id=str(their_delivery.id))
        self.assertIn("This delivery is not one of your order", response.text)
        response = self._post(f"/my/orders/{self.order.id}/service", request_type="complaint", description="x",
                              product_id=str(self.product_2.id))
        self.assertIn("This product is not on your order", response.text)
        response = self._post(f"/my/orders/{self.order.id}/service", request_type="complaint", description="  ")
        self.assertIn("Describe your request", response.text)
        response = self._post(f"/my/orders/{self.order.id}/service", request_type="refund", description="x")
        self.assertIn("Choose the type of your request", response.text)
        self.assertFalse(self._requests())
        # A customer of another company cannot file on this order either.
        self.authenticate("sd_portal2", "sd_portal2")
        self._post(f"/my/orders/{self.order.id}/service", request_type="complaint", description="x")
        self.assertFalse(self._requests())

    def test_customer_writes_in_the_chatter(self):
        """The customer follows up in the request's chatter; another customer cannot."""
        request = self.env["sales.service.request"].create({
            "partner_id": self.customer.id, "sale_order_id": self.order.id, "request_type": "question",
        })
        params = {"thread_model": request._name, "thread_id": request.id,
                  "post_data": {"body": "Any news?", "message_type": "comment"}}
        self.authenticate("sd_portal", "sd_portal")
        self.make_jsonrpc_request("/mail/message/post", params)
        message = request.message_ids.filtered(lambda m: "Any news?" in (m.body or ""))
        self.assertEqual(message.author_id, self.customer_contact)
        self.authenticate("sd_portal2", "sd_portal2")
        with self.assertRaises(JsonRpcException):
            self.make_jsonrpc_request("/mail/message/post", dict(params, post_data={"body": "Spam"}))
        self.assertFalse(request.message_ids.filtered(lambda m: "Spam" in (m.body or "")))

    def test_rate_a_done_request(self):
        """The customer rates a done request; open ones and other customers' cannot be rated."""
        request = self.env["sales.service.request"].create({
            "partner_id": self.customer.id, "sale_order_id": self.order.id, "request_type": "question",
        })
        self.authenticate("sd_portal", "sd_portal")
        page = self._post(f"/my/service/{request.id}/rate", rating="5", comment="Too early")
        self.assertIn("Only the customer can rate a request, once it is done", page.text)
        self.assertEqual(request.rating, 0)
        request.stage_id = self.stage_done
        page = self._post(f"/my/service/{request.id}/rate", rating="9")
        self.assertIn("Choose a rating from 1 to 5", page.text)
        self.authenticate("sd_portal2", "sd_portal2")
        self._post(f"/my/service/{request.id}/rate", rating="1", comment="Sabotage")
        request.invalidate_recordset()
        self.assertEqual(request.rating, 0)
        self.authenticate("sd_portal", "sd_portal")
        page = self._post(f"/my/service/{request.id}/rate", rating="4", comment="Fast answer")
        request.invalidate_recordset()
        self.assertEqual((request.rating, request.rating_comment), (4, "Fast answer"))
        self.assertIn("Fast answer", page.text)
        self.assertEqual(self._row(request).state, "done")
