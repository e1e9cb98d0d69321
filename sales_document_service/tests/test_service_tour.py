from odoo.tests import HttpCase, tagged

from .common import ServiceCase

# A whole tour, page loads included, on a machine that may be busy with other work.
TOUR_TIMEOUT = 180


@tagged("post_install", "-at_install")
class TestServiceTour(HttpCase, ServiceCase):
    def test_customer_files_and_rates_a_request(self):
        """In Chromium: the customer files a request from their order, then rates it once it is done."""
        order = self.env["sale.order"].create({
            "partner_id": self.customer.id,
            "user_id": self.salesman.id,
            "payment_term_id": self.payment_term.id,
            "carrier_id": self.carrier.id,
            "preferred_payment_method_line_id": self.payment_method_line.id,
            "order_line": [(0, 0, {"product_id": self.product.id, "product_uom_qty": 1.0})],
        })
        order.action_confirm()
        order.message_subscribe(partner_ids=self.customer.ids)
        self.start_tour(f"/my/orders/{order.id}", "sales_document_service_file_tour", login="sd_portal",
                        timeout=TOUR_TIMEOUT)
        request = self.env["sales.service.request"].search([("sale_order_id", "=", order.id)])
        self.assertEqual(len(request), 1)
        self.assertEqual(
            (request.request_type, request.partner_id, request.picking_id, request.description),
            ("repair", self.customer, order.picking_ids, "The motor stopped after two days."),
        )
        # The company resolves it.
        request.stage_id = self.stage_done
        self.start_tour("/my/service", "sales_document_service_rate_tour", login="sd_portal", timeout=TOUR_TIMEOUT)
        request.invalidate_recordset()
        self.assertEqual((request.rating, request.rating_comment), (5, "Repaired quickly, thank you."))
        row = self._row(request)
        self.assertEqual((row.doc_type, row.partner_id, row.sale_order_id, row.state),
                         ("service", self.customer, order, "done"))
        history = self.env["sales.document"].search(self.customer.action_open_sales_documents()["domain"])
        self.assertIn(row, history, "in the customer's history")
