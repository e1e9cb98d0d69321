import threading
import traceback

import psycopg2

from odoo import api
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import SalesDocumentCase


@tagged("post_install", "-at_install")
class TestDuplicateGuards(SalesDocumentCase):
    def test_same_customer_reference_is_refused(self):
        self._create_order(client_order_ref="PO-2026/001")
        with self.assertRaises(ValidationError) as ctx:
            # same commercial customer (through a contact), same reference once normalized
            self._create_order(partner_id=self.customer_contact.id, client_order_ref=" po 2026 001 ")
        self.assertIn("PO-2026/001", str(ctx.exception))
        # another customer may use the same reference
        self._create_order(partner_id=self.other_customer.id, client_order_ref="PO-2026/001")

    def test_manager_override_with_reason(self):
        first = self._create_order(client_order_ref="REF-9")
        with self.assertRaises(AccessError):
            self._create_order(
                user=self.salesman, client_order_ref="REF-9", duplicate_override_reason="Reorder"
            )
        second = self._create_order(
            user=self.sales_manager, client_order_ref="REF-9",
            duplicate_override_reason="Customer sent the same PO for a second delivery",
        )
        self.assertEqual(second.duplicate_override_user_id, self.sales_manager)
        self.assertNotEqual(first, second)

    def test_cancelled_order_frees_the_reference(self):
        first = self._create_order(client_order_ref="REF-10")
        first.action_cancel()
        self._create_order(client_order_ref="REF-10")

    def test_likely_duplicates_are_flagged(self):
        first = self._create_order(lines=[(self.product, 3), (self.product_2, 1)])
        self.assertFalse(first.is_possible_duplicate)
        second = self._create_order(lines=[(self.product_2, 1), (self.product, 3)])
        self.assertTrue(second.is_possible_duplicate)
        self.assertIn(first, second.possible_duplicate_ids)
        third = self._create_order(lines=[(self.product, 4), (self.product_2, 1)])
        self.assertFalse(third.is_possible_duplicate, "different quantities are not a duplicate")
        found = self.env["sale.order"].search([("is_possible_duplicate", "=", True)])
        self.assertIn(second, found)
        self.assertNotIn(third, found)

    def test_duplicate_window_and_tolerance_are_settings(self):
        settings = self.env["res.config.settings"].create({
            "sales_duplicate_days": 0, "sales_duplicate_tolerance": 0.0,
        })
        settings.execute()
        self.assertEqual(self.company.sales_duplicate_days, 0)
        first = self._create_order(lines=[(self.product, 3)])
        first.date_order = "2020-01-01 10:00:00"
        second = self._create_order(lines=[(self.product, 3)])
        self.assertFalse(second.is_possible_duplicate)


@tagged("post_install", "-at_install")
class TestExternalOrders(SalesDocumentCase):
    def test_create_external_is_idempotent(self):
        vals = self._order_vals(external_source="shop", external_ref="A-1")
        first = self.env["sale.order"].create_external(vals)
        again = self.env["sale.order"].create_external(dict(vals))
        self.assertEqual(first, again)
        self.assertEqual(self.env["sale.order"].search_count([("external_ref", "=", "A-1")]), 1)
        other = self.env["sale.order"].create_external(self._order_vals(external_source="edi", external_ref="A-1"))
        self.assertNotEqual(first, other)

    def test_create_external_needs_source_and_ref(self):
        with self.assertRaises(UserError):
            self.env["sale.order"].create_external(self._order_vals(external_source="shop"))

    def test_unique_per_company(self):
        self.env["sale.order"].create(self._order_vals(external_source="shop", external_ref="B-1"))
        with self.assertRaises(psycopg2.errors.UniqueViolation), mute_logger("odoo.sql_db"), \
                self.cr.savepoint():
            self.env["sale.order"].create(self._order_vals(external_source="shop", external_ref="B-1"))
        # the same reference from another source is fine
        self.env["sale.order"].create(self._order_vals(external_source="edi", external_ref="B-1"))


@tagged("post_install", "-at_install")
class TestExternalOrdersConcurrency(SalesDocumentCase):
    """Concurrent retries through two real database connections create one order."""

    def test_concurrent_retries_create_one_order(self):
        registry = self.registry
        vals = self._order_vals(external_source="race", external_ref="R-1", user_id=False, team_id=False)
        # The set-up data of the test case is not committed: use committed
        # master data in the threads (company, admin and a committed partner).
        with self._committed() as env:
            partner = env["res.partner"].create({"name": "Race customer"})
            product = env["product.product"].create({"name": "Race product", "type": "service"})
            partner_id, product_id = partner.id, product.id

        def remove(env):
            env["sale.order"].with_context(active_test=False).search([("external_source", "=", "race")]).unlink()
            env["product.product"].browse(product_id).unlink()
            env["res.partner"].browse(partner_id).unlink()

        self._cleanup_committed(remove)
        vals.update(partner_id=partner_id, order_line=[(0, 0, {"product_id": product_id})],
                    carrier_id=False, preferred_payment_method_line_id=False, payment_term_id=False)
        barrier = threading.Barrier(2)
        results, errors = [], []

        def worker():
            try:
                with registry.cursor() as cr:
                    env = api.Environment(cr, api.SUPERUSER_ID, {})
                    barrier.wait(timeout=10)
                    results.append(env["sale.order"].create_external(dict(vals)))
                    cr.commit()  # pylint: disable=invalid-commit
            except Exception:  # reported below
                errors.append(traceback.format_exc())

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertFalse(errors, errors)
        self.assertEqual(len(results), 2)
        self.assertEqual(results[0], results[1])
        with self._committed() as env:
            self.assertEqual(env["sale.order"].search_count([("external_source", "=", "race")]), 1)


@tagged("post_install", "-at_install")
class TestNoLossByMistake(SalesDocumentCase):
    def test_order_with_done_delivery_cannot_be_cancelled(self):
        order = self._create_order()
        order.action_confirm()
        picking = self._deliver(order)
        with self.assertRaises(UserError) as ctx:
            order._action_cancel()
        self.assertIn(picking.name, str(ctx.exception))
        self.assertEqual(order.state, "sale")

    def test_invoice_with_payment_cannot_be_reset_or_cancelled(self):
        order, invoice, payment = self._full_flow()
        with self.assertRaises(UserError) as ctx:
            invoice.button_draft()
        self.assertIn(payment.name, str(ctx.exception))
        with self.assertRaises(UserError):
            invoice.button_cancel()
        with self.assertRaises(UserError) as ctx:
            order._action_cancel()
        self.assertIn(invoice.name, str(ctx.exception))
        self.assertEqual(invoice.state, "posted")

    def test_delete_draft_archives_with_reason(self):
        order = self._create_order(user=self.salesman)
        with self.assertRaises(UserError):
            order.with_user(self.salesman).unlink()
        action = order.with_user(self.salesman).action_archive()
        self.assertEqual(action["res_model"], "sales.document.archive.wizard")
        wizard = Form(self.env["sales.document.archive.wizard"].with_user(self.salesman).with_context(
            default_order_ids=order.ids
        ))
        wizard.reason = "Customer changed their mind"
        wizard.save().action_confirm()
        self.assertFalse(order.active)
        self.assertEqual(order.archive_reason, "Customer changed their mind")
        self.assertNotIn(order, self.env["sale.order"].search([("partner_id", "=", self.customer.id)]))
        archived = self.env["sale.order"].search([("active", "=", False), ("id", "=", order.id)])
        self.assertEqual(archived, order)
        order.action_unarchive()
        self.assertTrue(order.active)
        self.assertFalse(order.archive_reason)

    def test_only_admin_deletes_with_reason(self):
        order = self._create_order()
        wizard = self.env["sales.document.archive.wizard"].with_user(self.sales_manager).create({
            "order_ids": order.ids, "reason": "test", "mode": "delete",
        })
        with self.assertRaises(AccessError):
            wizard.action_confirm()
        self.assertTrue(order.exists())
        wizard = self.env["sales.document.archive.wizard"].create({
            "order_ids": order.ids, "reason": "Created by mistake in training", "mode": "delete",
        })
        wizard.action_confirm()
        self.assertFalse(order.exists())
        self.assertIn("Created by mistake in training", self.customer.message_ids[:1].body)

    def test_confirmed_order_cannot_be_archived(self):
        order = self._create_order()
        order.action_confirm()
        wizard = self.env["sales.document.archive.wizard"].create({"order_ids": order.ids, "reason": "x"})
        with self.assertRaises(UserError):
            wizard.action_confirm()
        self.assertTrue(order.active)
