from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from .common import SalesDocumentCase


@tagged("post_install", "-at_install")
class TestApproval(SalesDocumentCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager_group = cls.env.ref("sales_team.group_sale_manager")
        cls.rule = cls.env["sales.document.approval.rule"].create({
            "name": "Orders from 1,000",
            "min_amount": 1000.0,
            "approver_group_id": cls.manager_group.id,
        })
        cls.sales_manager_2 = cls._create_user(
            "sd_manager2", "Max Manager", ["sales_team.group_sale_manager"]
        )

    def _big_order(self, **vals):
        # 20 widgets at 100: above the 1,000 threshold.
        return self._create_order([(self.product, 20.0)], user=self.salesman, **vals)

    def _small_order(self, **vals):
        return self._create_order([(self.product, 2.0)], user=self.salesman, **vals)

    # ------------------------------------------------------------------
    # Rules
    # ------------------------------------------------------------------

    def test_amount_rule(self):
        self.assertEqual(self._big_order().approval_state, "required")
        small = self._small_order()
        self.assertEqual(small.approval_state, "not_required")
        small.action_confirm()
        self.assertEqual(small.state, "sale")

    def test_discount_rule(self):
        self.rule.active = False
        self.env["sales.document.approval.rule"].create({
            "name": "Discounts above 10%",
            "max_discount": 10.0,
            "approver_group_id": self.manager_group.id,
        })
        order = self._small_order()
        self.assertEqual(order.approval_state, "not_required")
        order.order_line.discount = 15.0
        self.assertEqual(order.approval_state, "required")
        with self.assertRaises(UserError):
            order.action_confirm()
        order.order_line.discount = 5.0
        self.assertEqual(order.approval_state, "not_required")
        order.action_confirm()
        self.assertEqual(order.state, "sale")

    def test_domain_rule_on_customer(self):
        self.rule.write({"min_amount": 0.0, "domain": f"[('partner_id.commercial_partner_id', '=', {self.other_customer.id})]"})
        self.assertEqual(self._small_order().approval_state, "not_required")
        other = self._create_order([(self.product, 1.0)], partner_id=self.other_customer.id)
        self.assertEqual(other.approval_state, "required")

    def test_rule_change_updates_open_quotations(self):
        order = self._small_order()
        self.assertEqual(order.approval_state, "not_required")
        self.rule.min_amount = 100.0
        self.assertEqual(order.approval_state, "required")
        self.rule.active = False
        self.assertEqual(order.approval_state, "not_required")

    # ------------------------------------------------------------------
    # Request, approve, reject
    # ------------------------------------------------------------------

    def test_confirm_refused_without_approval_for_every_caller(self):
        order = self._big_order()
        with self.assertRaisesRegex(UserError, "needs an approval"):
            order.with_user(self.salesman).action_confirm()
        # Code running as superuser is refused too.
        with self.assertRaisesRegex(UserError, "needs an approval"):
            order.sudo().action_confirm()
        # Even a sales manager: approval goes through the request.
        with self.assertRaisesRegex(UserError, "needs an approval"):
            order.with_user(self.sales_manager).action_confirm()
        self.assertEqual(order.state, "draft")
        self.assertFalse(order.picking_ids)

    def test_request_approve_confirm(self):
        order = self._big_order()
        order.with_user(self.salesman).action_request_approval()
        self.assertEqual(order.approval_state, "pending")
        self.assertEqual(order.approval_requester_id, self.salesman)
        self.assertEqual(order.stage_review_requested_user_id, self.salesman)
        self.assertTrue(order.stage_review_requested_date)
        approval_type = self.env.ref("sales_document_registry.mail_activity_type_sale_approval")
        activities = order.activity_ids.filtered(lambda a: a.activity_type_id == approval_type)
        self.assertIn(self.sales_manager, activities.user_id)
        self.assertNotIn(self.salesman, activities.user_id)
        with self.assertRaisesRegex(UserError, "approval: Pending"):
            order.with_user(self.salesman).action_confirm()

        # A salesperson is not an approver.
        with self.assertRaises(AccessError):
            order.with_user(self.salesman_2).action_approve()
        self.assertEqual(order.with_user(self.sales_manager).approval_can_review, True)
        self.assertEqual(order.with_user(self.salesman_2).approval_can_review, False)
        order.with_user(self.sales_manager).action_approve()
        self.assertEqual(order.approval_state, "approved")
        self.assertEqual(order.approval_reviewer_id, self.sales_manager)
        self.assertEqual(order.stage_approved_user_id, self.sales_manager)
        self.assertFalse(order.activity_ids.filtered(lambda a: a.activity_type_id == approval_type))

        order.with_user(self.salesman).action_confirm()
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.approval_state, "approved")

    def test_requester_cannot_approve(self):
        order = self._create_order([(self.product, 20.0)], user=self.sales_manager)
        order.with_user(self.sales_manager).action_request_approval()
        with self.assertRaisesRegex(AccessError, "another approver"):
            order.with_user(self.sales_manager).action_approve()
        with self.assertRaisesRegex(AccessError, "another approver"):
            order.with_user(self.sales_manager).action_reject("Too big")
        self.assertEqual(order.approval_state, "pending")
        order.with_user(self.sales_manager_2).action_approve()
        self.assertEqual(order.approval_state, "approved")

    def test_approver_must_be_in_every_matching_group(self):
        accountants = self.env.ref("account.group_account_manager")
        self.env["sales.document.approval.rule"].create({
            "name": "Large orders need accounting",
            "min_amount": 1500.0,
            "approver_group_id": accountants.id,
        })
        order = self._big_order()
        order.with_user(self.salesman).action_request_approval()
        with self.assertRaisesRegex(AccessError, "can only be reviewed"):
            order.with_user(self.sales_manager).action_approve()
        self.sales_manager_2.groups_id = [Command.link(accountants.id)]
        order.with_user(self.sales_manager_2).action_approve()
        order.action_confirm()
        self.assertEqual(order.state, "sale")

    def test_reject_needs_reason(self):
        order = self._big_order()
        order.with_user(self.salesman).action_request_approval()
        with self.assertRaisesRegex(UserError, "reason"):
            order.with_user(self.sales_manager).action_reject("  ")
        self.assertEqual(order.approval_state, "pending")
        wizard = Form(
            self.env["sales.document.approval.reject.wizard"].with_user(self.sales_manager).with_context(
                default_order_ids=order.ids
            )
        )
        wizard.reason = "Discount too generous for this customer"
        wizard.save().action_reject()
        self.assertEqual(order.approval_state, "rejected")
        self.assertEqual(order.approval_reject_reason, "Discount too generous for this customer")
        with self.assertRaisesRegex(UserError, "Rejected"):
            order.action_confirm()
        # The salesperson may ask again after changing the order.
        order.with_user(self.salesman).action_request_approval()
        self.assertEqual(order.approval_state, "pending")

    def test_request_not_needed(self):
        with self.assertRaisesRegex(UserError, "does not need an approval"):
            self._small_order().with_user(self.salesman).action_request_approval()

    # ------------------------------------------------------------------
    # Void on change
    # ------------------------------------------------------------------

    def _approved_order(self):
        order = self._big_order()
        order.with_user(self.salesman).action_request_approval()
        order.with_user(self.sales_manager).action_approve()
        self.assertEqual(order.approval_state, "approved")
        return order

    def test_price_change_voids_approval(self):
        order = self._approved_order()
        with Form(order.with_user(self.salesman)) as form:
            with form.order_line.edit(0) as line:
                line.price_unit = 90.0
        self.assertEqual(order.approval_state, "required")
        self.assertFalse(order.approval_decision)
        self.assertIn("void", order.message_ids[0].body)
        with self.assertRaisesRegex(UserError, "needs an approval"):
            order.action_confirm()

    def test_line_change_through_rpc_voids_approval(self):
        order = self._approved_order()
        # A direct write on the line (RPC on sale.order.line) bypasses the order's write.
        order.order_line.with_user(self.salesman).write({"product_uom_qty": 30.0})
        self.assertEqual(order.approval_state, "required")
        with self.assertRaisesRegex(UserError, "void"):
            order.action_confirm()

    def test_added_line_customer_and_terms_void_approval(self):
        for change in (
            {"order_line": [Command.create({"product_id": self.product_2.id, "product_uom_qty": 1.0})]},
            {"partner_id": self.other_customer.id},
            {"payment_term_id": self.env.ref("account.account_payment_term_immediate").id},
        ):
            order = self._approved_order()
            order.with_user(self.sales_manager).write(change)
            self.assertEqual(order.approval_state, "required", change)

    def test_unrelated_change_keeps_approval(self):
        order = self._approved_order()
        order.with_user(self.salesman).write({"note": "Deliver at the back door", "client_order_ref": "PO-77"})
        self.assertEqual(order.approval_state, "approved")
        order.action_confirm()
        self.assertEqual(order.state, "sale")

    def test_approval_fields_cannot_be_written(self):
        order = self._big_order()
        with self.assertRaises(AccessError):
            order.with_user(self.salesman).write({"approval_decision": "approved"})
        with self.assertRaises(AccessError):
            self.env["sale.order"].with_user(self.salesman).create(
                self._order_vals([(self.product, 20.0)], approval_decision="approved",
                                 approval_snapshot="x")
            )
        self.assertEqual(order.approval_state, "required")

    def test_copy_needs_new_approval(self):
        order = self._approved_order()
        copy = order.copy()
        self.assertEqual(copy.approval_state, "required")

    # ------------------------------------------------------------------
    # Customer paths: portal signature and online payment
    # ------------------------------------------------------------------

    def test_portal_signature_holds_for_approval(self):
        order = self._big_order()
        order.action_quotation_sent()
        public = self.env.ref("base.public_user")
        # What the portal controller does after the customer signs.
        order.with_user(public).sudo()._validate_order()
        self.assertEqual(order.state, "sent")
        self.assertEqual(order.approval_state, "pending")
        self.assertTrue(order.approval_customer_accepted)
        order.with_user(self.sales_manager).action_approve()
        self.assertEqual(order.state, "sale", "approved after the customer's acceptance: confirmed")

    def test_online_payment_holds_for_approval(self):
        provider = self.env["payment.provider"].create({
            "name": "Test provider",
            "code": "none",
            "state": "test",
            "payment_method_ids": [Command.set([self.env.ref("payment.payment_method_unknown").id])],
        })
        order = self._big_order()
        tx = self.env["payment.transaction"].create({
            "provider_id": provider.id,
            "payment_method_id": self.env.ref("payment.payment_method_unknown").id,
            "amount": order.amount_total,
            "currency_id": order.currency_id.id,
            "partner_id": self.customer.id,
            "reference": "SD-APPROVAL-TX",
            "sale_order_ids": [Command.set(order.ids)],
        })
        tx._set_done()
        confirmed = tx._check_amount_and_confirm_order()
        self.assertFalse(confirmed)
        self.assertEqual(order.state, "draft")
        self.assertEqual(order.approval_state, "pending")
        self.assertTrue(order.approval_customer_accepted)
        order.with_user(self.sales_manager).action_approve()
        self.assertEqual(order.state, "sale")

    def test_online_payment_without_rule_confirms(self):
        self.rule.active = False
        provider = self.env["payment.provider"].create({
            "name": "Test provider",
            "code": "none",
            "state": "test",
            "payment_method_ids": [Command.set([self.env.ref("payment.payment_method_unknown").id])],
        })
        order = self._big_order()
        tx = self.env["payment.transaction"].create({
            "provider_id": provider.id,
            "payment_method_id": self.env.ref("payment.payment_method_unknown").id,
            "amount": order.amount_total,
            "currency_id": order.currency_id.id,
            "partner_id": self.customer.id,
            "reference": "SD-APPROVAL-TX2",
            "sale_order_ids": [Command.set(order.ids)],
        })
        tx._set_done()
        self.assertEqual(tx._check_amount_and_confirm_order(), order)
        self.assertEqual(order.state, "sale")
