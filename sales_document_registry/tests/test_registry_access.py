import xmlrpc.client

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged

from .common import SalesDocumentCase

# A whole tour, page loads included, on a machine that may be busy with other work.
TOUR_TIMEOUT = 180


@tagged("post_install", "-at_install")
class TestRegistryAccess(SalesDocumentCase):
    def test_rows_follow_the_document_rules(self):
        """A salesperson sees the rows of their own orders only, never another's."""
        mine = self._create_order(user=self.salesman)
        theirs = self._create_order(partner_id=self.other_customer.id, user_id=self.salesman_2.id)
        self.env.flush_all()
        Registry = self.env["sales.document"].with_user(self.salesman)
        rows = Registry.search([("doc_type", "=", "order")])
        self.assertIn(mine.id, rows.mapped("res_id"))
        self.assertNotIn(theirs.id, rows.mapped("res_id"))
        counts = {g["partner_id"][0]: g["partner_id_count"] for g in Registry.read_group(
            [("doc_type", "=", "order")], ["amount_total:sum"], ["partner_id"])}
        self.assertNotIn(self.other_customer.id, counts)
        # reading a forbidden row by id is refused
        forbidden = self.env["sales.document"].search([("res_model", "=", "sale.order"), ("res_id", "=", theirs.id)])
        self.assertTrue(forbidden)
        with self.assertRaises(AccessError):
            forbidden.with_user(self.salesman).read(["name"])

    def test_rows_match_what_each_model_lets_the_user_read(self):
        """For any user, the registry shows exactly the documents they can read."""
        order, invoice, payment = self._full_flow(user_id=self.salesman.id)
        other = self._create_order(partner_id=self.other_customer.id, user_id=self.salesman_2.id)
        other.action_confirm()
        self.env.flush_all()
        stock_user = self._create_user("sd_stock", "Will Warehouse", ["stock.group_stock_user"])
        every_row = self.env["sales.document"].search([("sale_order_id", "in", (order | other).ids)])
        self.assertEqual(set(every_row.mapped("doc_type")), {"order", "delivery", "invoice", "payment"})
        for user in (self.salesman, self.salesman_2, stock_user, self.sales_manager):
            rows = self.env["sales.document"].with_user(user).search(
                [("sale_order_id", "in", (order | other).ids)]
            )
            expected = set()
            for row in every_row:
                Model = self.env[row.res_model].with_user(user)
                if Model.has_access("read") and Model.search([("id", "=", row.res_id)]):
                    expected.add(row.id)
            self.assertEqual(set(rows.ids), expected, user.name)
        self.assertTrue(
            self.env["sales.document"].with_user(stock_user).search([("doc_type", "=", "delivery")])
        )

    def test_registry_is_read_only(self):
        order = self._create_order(user=self.salesman)
        self.env.flush_all()
        row = self._registry_rows(order).with_user(self.salesman)
        with self.assertRaises(AccessError):
            row.write({"name": "changed"})

    def test_customer_smart_button(self):
        order, invoice, payment = self._full_flow(partner_id=self.customer_contact.id)
        self.env.flush_all()
        self.assertEqual(self.customer.sales_document_count, 4)
        self.assertEqual(self.customer_contact.sales_document_count, 4)
        action = self.customer_contact.action_open_sales_documents()
        rows = self.env["sales.document"].search(action["domain"])
        self.assertEqual(set(rows.mapped("res_id")) >= {order.id, invoice.id, payment.id}, True)


@tagged("post_install", "-at_install")
class TestRegistryRpcAndUi(HttpCase, SalesDocumentCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman.password = "sd_salesman"
        cls.customer.write({
            "property_payment_term_id": cls.payment_term.id,
            "property_delivery_carrier_id": cls.carrier.id,
        })

    def _rpc(self, model, method, *args, **kwargs):
        return self.xmlrpc_object.execute_kw(
            self.env.cr.dbname, self.salesman.id, "sd_salesman", model, method, list(args), kwargs
        )

    def test_rpc_confirmation_is_checked(self):
        order = self._create_order(user=self.salesman, payment_term_id=False, carrier_id=False)
        with self.assertRaises(xmlrpc.client.Fault) as ctx:
            self._rpc("sale.order", "action_confirm", [order.id])
        self.assertIn("Payment Terms", ctx.exception.faultString)
        self.assertIn("Delivery Method", ctx.exception.faultString)
        order.invalidate_recordset()
        self.assertEqual(order.state, "draft")
        order.write({"payment_term_id": self.payment_term.id, "carrier_id": self.carrier.id})
        self._rpc("sale.order", "action_confirm", [order.id])
        order.invalidate_recordset()
        self.assertEqual(order.state, "sale")

    def test_rpc_create_external_and_registry(self):
        vals = {
            "partner_id": self.customer.id,
            "external_source": "webshop",
            "external_ref": "WS-42",
            "order_line": [(0, 0, {"product_id": self.product.id, "product_uom_qty": 1})],
        }
        first = self._rpc("sale.order", "create_external", vals)
        second = self._rpc("sale.order", "create_external", vals)
        self.assertEqual(first, second)
        rows = self._rpc("sales.document", "search_read", [("res_id", "=", first), ("doc_type", "=", "order")],
                         fields=["name", "partner_id", "state"])
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["partner_id"][0], self.customer.id)
        with self.assertRaises(xmlrpc.client.Fault):
            self._rpc("sales.document", "write", [rows[0]["id"]], {"name": "x"})

    def test_tour_salesperson_confirms_and_follows_the_chain(self):
        self.env["product.product"].create({
            "name": "Tour Widget", "type": "consu", "is_storable": True, "list_price": 10.0,
        })
        self.customer.name = "Tour Customer"
        self.start_tour("/odoo", "sales_document_registry_order_tour", login="sd_salesman", timeout=TOUR_TIMEOUT)
        order = self.env["sale.order"].search([("partner_id", "=", self.customer.id)], limit=1)
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.preferred_payment_method_line_id, self.payment_method_line)
        self.assertEqual(order.stage_confirmed_user_id, self.salesman)
        self.env.flush_all()
        rows = self.env["sales.document"].search([("sale_order_id", "=", order.id)])
        self.assertEqual(set(rows.mapped("doc_type")), {"order", "delivery"})
        self.start_tour(
            "/odoo/action-sales_document_registry.sales_document_action",
            "sales_document_registry_list_tour",
            login="sd_salesman",
            timeout=TOUR_TIMEOUT,
        )
