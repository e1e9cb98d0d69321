import threading

from odoo import SUPERUSER_ID, Command, api
from odoo.exceptions import AccessError, UserError
from odoo.service.model import retrying
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL, mute_logger

from .common import CommittedDataMixin, SalesDocumentCase


@tagged("post_install", "-at_install")
class TestOversell(SalesDocumentCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.sales_oversell_mode = "block"

    def _confirm_refused(self, order, *patterns):
        with self.assertRaises(UserError) as catcher:
            order.action_confirm()
        for pattern in patterns:
            self.assertIn(pattern, catcher.exception.args[0])
        self.assertIn(order.state, ("draft", "sent"))
        self.assertFalse(order.picking_ids, "nothing is written when the confirmation is refused")
        return catcher.exception

    def test_off_mode_allows_overselling(self):
        self.company.sales_oversell_mode = "off"
        order = self._create_order([(self.product, 150.0)])
        order.action_confirm()
        self.assertEqual(order.state, "sale")

    def test_block_lists_each_short_product_with_quantities(self):
        order = self._create_order([(self.product, 120.0), (self.product_2, 30.0), (self.product, 10.0)])
        error = self._confirm_refused(order, "Widget", "130", "100")
        self.assertNotIn("Gadget", error.args[0], "products in stock are not listed")

    def test_confirmed_demand_counts(self):
        first = self._create_order([(self.product, 60.0)])
        first.action_confirm()
        second = self._create_order([(self.product, 50.0)])
        self._confirm_refused(second, "50", "40")
        third = self._create_order([(self.product, 40.0)])
        third.action_confirm()
        self.assertEqual(third.state, "sale")

    def test_unreserved_demand_counts(self):
        # A delivery waiting for stock (not reserved yet) holds the units it waits for.
        self.company.sales_oversell_mode = "off"
        big = self._create_order([(self.product_2, 130.0)])
        big.action_confirm()
        self.company.sales_oversell_mode = "block"
        self.env["stock.quant"]._update_available_quantity(self.product_2, self.stock_location, 50.0)
        # On hand 150, reserved 100, 30 waiting: 20 free.
        order = self._create_order([(self.product_2, 25.0)])
        self._confirm_refused(order, "25", "20")
        order.order_line.product_uom_qty = 20.0
        order.action_confirm()
        self.assertEqual(order.state, "sale")

    def test_delivered_goods_leave_free_quantity_unchanged(self):
        first = self._create_order([(self.product, 70.0)])
        first.action_confirm()
        self._deliver(first)
        self.assertEqual(self.product.qty_available, 30.0)
        self._confirm_refused(self._create_order([(self.product, 31.0)]), "31", "30")

    def test_orders_confirmed_together_share_the_stock(self):
        orders = self._create_order([(self.product, 60.0)]) | self._create_order([(self.product, 50.0)])
        with self.assertRaises(UserError):
            orders.action_confirm()
        self.assertEqual(set(orders.mapped("state")), {"draft"})

    def test_units_of_measure(self):
        dozen = self.env.ref("uom.product_uom_dozen")
        order = self._create_order([(self.product, 9.0)])
        order.order_line.product_uom = dozen
        self._confirm_refused(order, "108", "100")

    def test_warn_mode_confirms_and_records(self):
        self.company.sales_oversell_mode = "warn"
        order = self._create_order([(self.product, 150.0)])
        order.action_confirm()
        self.assertEqual(order.state, "sale")
        self.assertIn("stock shortage", order.message_ids[0].body)

    def test_manager_override_with_reason(self):
        order = self._create_order([(self.product, 150.0)], user=self.salesman)
        with self.assertRaises(AccessError):
            order.with_user(self.salesman).write({"oversell_override_reason": "Restock tomorrow"})
        with self.assertRaises(AccessError):
            order.with_user(self.salesman).write({"oversell_override_user_id": self.sales_manager.id})
        order.with_user(self.sales_manager).write({"oversell_override_reason": "Restock arrives tomorrow"})
        self.assertEqual(order.oversell_override_user_id, self.sales_manager)
        order.with_user(self.salesman).action_confirm()
        self.assertEqual(order.state, "sale")
        self.assertTrue(any("Restock arrives tomorrow" in m.body for m in order.message_ids))

    def test_approval_mode(self):
        self.company.sales_oversell_mode = "approval"
        order = self._create_order([(self.product, 150.0)], user=self.salesman)
        self.assertEqual(order.approval_state, "not_required")
        self._confirm_refused(order, "request an approval")
        order.with_user(self.salesman).action_request_approval()
        self.assertEqual(order.approval_state, "pending")
        self.assertTrue(order.approval_oversell)
        order.with_user(self.sales_manager).action_approve()
        order.with_user(self.salesman).action_confirm()
        self.assertEqual(order.state, "sale")

    def test_services_mto_and_dropship_are_skipped(self):
        mto = self.env.ref("stock.route_warehouse0_mto")
        mto.active = True
        mto_product = self._create_product("Made to order", 10.0)
        mto_product.route_ids = [Command.set(mto.ids)]
        supplier = self.env.ref("stock.stock_location_suppliers")
        customers = self.env.ref("stock.stock_location_customers")
        dropship = self.env["stock.route"].create({
            "name": "Direct from supplier",
            "sale_selectable": True,
            "rule_ids": [Command.create({
                "name": "Supplier to customer",
                "action": "pull",
                "location_src_id": supplier.id,
                "location_dest_id": customers.id,
                "picking_type_id": self.warehouse.in_type_id.id,
                "procure_method": "make_to_stock",
            })],
        })
        order = self._create_order([(self.service, 500.0), (mto_product, 500.0), (self.product, 500.0)])
        order.order_line.filtered(lambda line: line.product_id == self.product).route_id = dropship
        order.action_confirm()
        self.assertEqual(order.state, "sale")


@tagged("post_install", "-at_install")
class TestOversellConcurrency(CommittedDataMixin, TransactionCase):
    """Two real connections racing for the last units: only one may win.

    The fixture is committed in its own connection (the test's transaction is
    invisible to other connections) and removed at the end.
    """

    def _fixture(self):
        with self._committed({"tracking_disable": True}) as env:
            company = env.company
            warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
            product = env["product.product"].create({
                "name": "Last units (concurrency test)",
                "type": "consu",
                "is_storable": True,
                "list_price": 10.0,
            })
            env["stock.quant"]._update_available_quantity(product, warehouse.lot_stock_id, 5.0)
            partner = env["res.partner"].create({"name": "Concurrency test customer"})
            carrier = env["delivery.carrier"].create({
                "name": "Concurrency test shipping",
                "product_id": env["product.product"].create({"name": "Shipping", "type": "service"}).id,
                "delivery_type": "fixed",
            })
            journal = env["account.journal"].search(
                [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
            )
            orders = env["sale.order"].create([
                {
                    "partner_id": partner.id,
                    "warehouse_id": warehouse.id,
                    "carrier_id": carrier.id,
                    "payment_term_id": env.ref("account.account_payment_term_30days").id,
                    "preferred_payment_method_line_id": journal.inbound_payment_method_line_ids[:1].id,
                    "order_line": [Command.create({"product_id": product.id, "product_uom_qty": 4.0})],
                }
                for _i in range(2)
            ])
            fixture = {
                "company": company.id,
                "mode": company.sales_oversell_mode,
                "product": product.id,
                "partner": partner.id,
                "carrier": carrier.id,
                "orders": orders.ids,
                "warehouse": warehouse.id,
            }
            company.sales_oversell_mode = "block"
        # Registered last, run first: the company's setting comes back even if a deletion fails.
        self._cleanup_committed(lambda env: self._remove_fixture(env, fixture))
        self._cleanup_committed(
            lambda env: env["res.company"].browse(fixture["company"]).write({"sales_oversell_mode": fixture["mode"]})
        )
        return fixture

    @staticmethod
    def _remove_fixture(env, fixture):
        """Remove the committed fixture (orders and their deliveries first)."""
        orders = env["sale.order"].browse(fixture["orders"]).exists()
        pickings = orders.picking_ids
        orders.filtered(lambda o: o.state == "sale")._action_cancel()
        pickings.action_cancel()
        pickings.unlink()
        orders.unlink()  # as superuser: a test fixture, not a user deleting
        product = env["product.product"].browse(fixture["product"])
        env["stock.move"].search([("product_id", "=", product.id)]).unlink()
        env["stock.quant"].sudo().search([("product_id", "=", product.id)]).unlink()
        env.cr.execute(SQL("DELETE FROM sales_document_oversell_lock WHERE product_id = %s", product.id))
        template = product.product_tmpl_id
        product.unlink()
        template.unlink()
        carrier = env["delivery.carrier"].browse(fixture["carrier"])
        shipping = carrier.product_id
        carrier.unlink()
        shipping.product_tmpl_id.unlink()
        env["res.partner"].browse(fixture["partner"]).unlink()

    def _confirm(self, order_id, barrier, results):
        try:
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                # Take both transaction snapshots before either confirmation commits.
                cr.execute("SELECT 1")
                barrier.wait(timeout=30)
                try:
                    # The loser's first attempt fails to serialize (logged by the cursor), then is retried.
                    with mute_logger("odoo.sql_db"):
                        retrying(lambda: env["sale.order"].browse(order_id).action_confirm(), env)
                    results[order_id] = "confirmed"
                except UserError as error:
                    cr.rollback()
                    results[order_id] = error.args[0]
        except Exception as error:  # noqa: BLE001 -- reported by the test thread
            results[order_id] = error

    def test_concurrent_confirmations_never_oversell(self):
        fixture = self._fixture()
        barrier = threading.Barrier(2)
        results = {}
        threads = [
            threading.Thread(target=self._confirm, args=(order_id, barrier, results))
            for order_id in fixture["orders"]
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        self.assertEqual(len(results), 2, results)
        outcomes = sorted(results.values(), key=str)
        self.assertEqual(outcomes.count("confirmed"), 1, results)
        refusal = next(value for value in outcomes if value != "confirmed")
        self.assertIsInstance(refusal, str, results)
        self.assertIn("Not enough free stock", refusal)

        with self._committed() as env:
            orders = env["sale.order"].browse(fixture["orders"])
            self.assertEqual(sorted(orders.mapped("state")), ["draft", "sale"])
            moves = env["stock.move"].search([
                ("product_id", "=", fixture["product"]), ("state", "not in", ("done", "cancel")),
            ])
            self.assertEqual(sum(moves.mapped("product_qty")), 4.0, "the last units were sold once")
