from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged

from .common import SalesDocumentCase


@tagged("post_install", "-at_install")
class TestCompleteness(SalesDocumentCase):
    def test_blocking_rule_lists_every_missing_field(self):
        """Confirmation fails with every missing field by label, and nothing is written."""
        order = self._create_order(
            payment_term_id=False, carrier_id=False, preferred_payment_method_line_id=False
        )
        with self.assertRaises(UserError) as ctx:
            order.action_confirm()
        message = str(ctx.exception)
        for label in ("Payment Terms", "Payment method", "Delivery Method"):
            self.assertIn(label, message)
        self.assertEqual(order.state, "draft")
        self.assertFalse(order.picking_ids)
        self.assertFalse(order.stage_confirmed_date)

    def test_complete_order_confirms_and_records_stage(self):
        order = self._create_order(user=self.salesman)
        order.with_user(self.salesman).action_confirm()
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.stage_confirmed_user_id, self.salesman)
        self.assertTrue(order.picking_ids.carrier_id)

    def test_service_order_needs_no_carrier(self):
        """The shipping-method rule applies to orders with goods only."""
        order = self._create_order(lines=[(self.service, 1)], carrier_id=False)
        order.action_confirm()
        self.assertEqual(order.state, "sale")

    def test_warning_rule_shows_and_filters(self):
        rule = self.env.ref("sales_document_registry.rule_order_payment_term")
        rule.severity = "warn"
        order = self._create_order(payment_term_id=False)
        self.assertTrue(order.sd_incomplete)
        self.assertIn("Payment Terms", order.sd_completeness_warning)
        incomplete = self.env["sale.order"].search([("sd_incomplete", "=", True)])
        self.assertIn(order, incomplete)
        complete = self.env["sale.order"].search([("sd_incomplete", "=", False), ("id", "=", order.id)])
        self.assertFalse(complete)
        order.action_confirm()  # a warning never blocks
        self.assertEqual(order.state, "sale")
        self.assertFalse(order.sd_incomplete, "a confirmed order has nothing left to complete for confirmation")

    def test_invoice_needs_payment_method_before_posting(self):
        order = self._create_order()
        order.action_confirm()
        self._deliver(order)
        invoice = self._invoice(order, post=False)
        invoice.preferred_payment_method_line_id = False
        with self.assertRaises(UserError) as ctx:
            invoice.action_post()
        self.assertIn("Payment Method", str(ctx.exception))
        self.assertEqual(invoice.state, "draft")
        invoice.preferred_payment_method_line_id = self.payment_method_line
        invoice.action_post()
        self.assertEqual(invoice.state, "posted")
        self.assertTrue(invoice.stage_invoiced_date)

    def test_delivery_needs_carrier_before_validation(self):
        order = self._create_order()
        order.action_confirm()
        picking = order.picking_ids
        picking.carrier_id = False
        with self.assertRaises(UserError) as ctx:
            self._deliver(order)
        self.assertIn(picking.name, str(ctx.exception))
        self.assertNotEqual(picking.state, "done")

    def test_form_path_is_checked_too(self):
        """The UI path (a Form, then the button) hits the same server check."""
        form = Form(self.env["sale.order"])
        form.partner_id = self.other_customer
        form.payment_term_id = self.env["account.payment.term"]
        with form.order_line.new() as line:
            line.product_id = self.product
        order = form.save()
        with self.assertRaises(UserError):
            order.action_confirm()
        self.assertEqual(order.state, "draft")

    def test_company_specific_rule(self):
        """A rule of another company does not apply here; an all-company rule does."""
        other_company = self.env["res.company"].create({"name": "Other Co"})
        field = self.env.ref("sale.field_sale_order__client_order_ref")
        self.env["sales.document.rule"].create({
            "doc_type": "order", "field_id": field.id, "severity": "block", "company_id": other_company.id,
        })
        order = self._create_order()
        order.action_confirm()
        self.assertEqual(order.state, "sale")
        self.env["sales.document.rule"].create({"doc_type": "order", "field_id": field.id, "severity": "block"})
        order_2 = self._create_order()
        with self.assertRaises(UserError) as ctx:
            order_2.action_confirm()
        self.assertIn("Customer Reference", str(ctx.exception))

    def test_rule_consistency_is_validated(self):
        field = self.env.ref("account.field_account_move__partner_id")
        with self.assertRaises(ValidationError):
            self.env["sales.document.rule"].create({"doc_type": "order", "field_id": field.id})
        with self.assertRaises(ValidationError):
            self.env["sales.document.rule"].create({
                "doc_type": "order",
                "field_id": self.env.ref("sale.field_sale_order__note").id,
                "applies_domain": "[('no_such_field', '=', 1)]",
            })

    def test_import_path_is_checked(self):
        """Records created by import then confirmed by code are held to the same rules."""
        result = self.env["sale.order"].load(
            ["partner_id/.id", "order_line/product_id/.id", "order_line/product_uom_qty"],
            [[str(self.customer.id), str(self.product.id), "1"]],
        )
        self.assertFalse(result["messages"], result["messages"])
        order = self.env["sale.order"].browse(result["ids"])
        order.write({"payment_term_id": False, "order_line": [Command.create({"product_id": self.product_2.id})]})
        with self.assertRaises(UserError):
            order.action_confirm()
        self.assertEqual(order.state, "draft")
