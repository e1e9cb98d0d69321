"""A hostile client against the confirmation path and the state machines.

Each test drives a real server over XML-RPC as a salesperson, a sales
manager, an accountant or a warehouse user, tries a bypass, and checks both
the refusal and that the database did not change.
"""

import xmlrpc.client

from odoo.exceptions import UserError
from odoo.tests import HttpCase, tagged

from .common import SalesDocumentCase

USER_ERROR = 2  # XML-RPC fault codes (odoo.addons.base.controllers.rpc)
ACCESS_ERROR = 4
STATE_REFUSED = "cannot be set to"
APPROVAL_REFUSED = "cannot be written directly"
OVERRIDE_REFUSED = "sales manager"


class HostileCase(SalesDocumentCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.accountant = cls._create_user("sd_accountant", "Alan Accountant", ["account.group_account_invoice"])
        cls.warehouse_user = cls._create_user("sd_warehouse", "Wanda Warehouse", ["stock.group_stock_user"])
        for user in (cls.salesman, cls.sales_manager, cls.accountant, cls.warehouse_user):
            user.password = f"{user.login}-pw"
        # Cheap enough to need no approval, short for any order of more than 5.
        cls.scarce = cls._create_product("Scarce part", 10.0, qty=5)
        cls.approval_rule = cls.env["sales.document.approval.rule"].create({
            "name": "Orders from 1,000",
            "min_amount": 1000.0,
            "approver_group_id": cls.env.ref("sales_team.group_sale_manager").id,
        })

    def _needs_approval(self):
        # 20 widgets at 100: above the approval threshold, and in stock.
        order = self._create_order([(self.product, 20.0)], user=self.salesman)
        self.assertEqual(order.approval_state, "required")
        return order

    def _incomplete(self):
        return self._create_order(user=self.salesman, payment_term_id=False)

    def _short(self):
        self.company.sales_oversell_mode = "block"
        order = self._create_order([(self.scarce, 8.0)], user=self.salesman)
        self.assertEqual(order.approval_state, "not_required")
        return order


@tagged("post_install", "-at_install")
class TestHostileConfirmation(HostileCase, HttpCase):
    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    def _rpc(self, user, model, method, *args, **kwargs):
        self.env.flush_all()
        try:
            return self.xmlrpc_object.execute_kw(
                self.env.cr.dbname, user.id, f"{user.login}-pw", model, method, list(args), kwargs
            )
        finally:
            self.env.invalidate_all()

    def _refused(self, user, model, method, *args, message, code=None, **kwargs):
        """Call over XML-RPC and assert a refusal whose text holds ``message``."""
        with self.assertRaises(xmlrpc.client.Fault) as catcher:
            self._rpc(user, model, method, *args, **kwargs)
        fault = catcher.exception
        self.assertIn(fault.faultCode, (code,) if code else (USER_ERROR, ACCESS_ERROR), fault.faultString)
        self.assertIn(message, fault.faultString)

    def _load_refused(self, user, model, fields, rows, message):
        result = self._rpc(user, model, "load", fields, rows)
        self.assertFalse(result["ids"], "nothing imported")
        self.assertIn(message, " ".join(m["message"] for m in result["messages"]))

    def _assert_quotation(self, order):
        self.assertIn(order.state, ("draft", "sent"))
        self.assertFalse(order.picking_ids, "no delivery created")
        self.assertFalse(order.stage_confirmed_date)

    # ------------------------------------------------------------------
    # Approval
    # ------------------------------------------------------------------

    def test_forged_approval_is_refused(self):
        order = self._needs_approval()
        forged = {
            "approval_decision": "approved",
            "approval_snapshot": order.approval_signature,
            "approval_reviewer_id": self.sales_manager.id,
        }
        # The old context key, with every field together and each one alone.
        for vals in [forged, *({name: value} for name, value in forged.items()), {"approval_state": "approved"}]:
            self._refused(
                self.salesman, "sale.order", "write", order.ids, vals,
                context={"sd_approval_write": True}, message=APPROVAL_REFUSED, code=ACCESS_ERROR,
            )
        # Create with the fields, or with them as context defaults.
        vals = self._order_vals([(self.product, 20.0)], user_id=self.salesman.id)
        vals = {name: value for name, value in vals.items() if name != "order_line"}
        self._refused(
            self.salesman, "sale.order", "create", [dict(vals, **forged)],
            context={"sd_approval_write": True}, message=APPROVAL_REFUSED, code=ACCESS_ERROR,
        )
        self._refused(
            self.salesman, "sale.order", "create", [vals],
            context={f"default_{name}": value for name, value in forged.items()},
            message=APPROVAL_REFUSED, code=ACCESS_ERROR,
        )
        self._load_refused(
            self.salesman, "sale.order", [".id", "approval_decision"], [[str(order.id), "approved"]],
            APPROVAL_REFUSED,
        )
        self._refused(self.salesman, "sale.order", "action_confirm", order.ids,
                      context={"sd_approval_write": True}, message="needs an approval")
        self.assertFalse(order.approval_decision)
        self.assertFalse(order.approval_reviewer_id)
        self.assertEqual(order.approval_state, "required")
        self._assert_quotation(order)

    def test_approval_actions_answer_over_rpc(self):
        order = self._needs_approval()
        self.assertIs(self._rpc(self.salesman, "sale.order", "action_request_approval", order.ids), True)
        self._refused(self.salesman, "sale.order", "action_approve", order.ids, message="another approver")
        self.assertIs(self._rpc(self.sales_manager, "sale.order", "action_approve", order.ids), True)
        self.assertEqual(order.approval_state, "approved")
        self.assertIs(self._rpc(self.salesman, "sale.order", "action_confirm", order.ids), True)
        self.assertEqual(order.state, "sale")

        rejected = self._needs_approval()
        self._rpc(self.salesman, "sale.order", "action_request_approval", rejected.ids)
        self.assertIs(
            self._rpc(self.sales_manager, "sale.order", "action_reject", rejected.ids, "Price too low"), True
        )
        self.assertEqual(rejected.approval_state, "rejected")
        self.assertEqual(rejected.approval_reject_reason, "Price too low")

    def test_overrides_cannot_be_forged(self):
        order = self._short()
        salesman = self.salesman
        for vals in (
            {"oversell_override_reason": "Restock tomorrow"},
            {"oversell_override_user_id": self.sales_manager.id},
            {"duplicate_override_reason": "Same PO, two orders"},
            {"duplicate_override_user_id": self.sales_manager.id},
        ):
            self._refused(salesman, "sale.order", "write", order.ids, vals, message="", code=ACCESS_ERROR)
        vals = {"partner_id": self.customer.id, "user_id": salesman.id}
        for name in ("oversell_override_reason", "duplicate_override_reason"):
            self._refused(salesman, "sale.order", "create", [vals], context={f"default_{name}": "forged"},
                          message=OVERRIDE_REFUSED, code=ACCESS_ERROR)
            self._refused(salesman, "sale.order", "create", [dict(vals, **{name: "forged"})],
                          message=OVERRIDE_REFUSED, code=ACCESS_ERROR)
        self._refused(salesman, "sale.order", "create",
                      [dict(vals, oversell_override_user_id=self.sales_manager.id)],
                      message="recorded automatically", code=ACCESS_ERROR)
        self._load_refused(salesman, "sale.order", [".id", "oversell_override_reason"],
                           [[str(order.id), "forged"]], OVERRIDE_REFUSED)
        self._refused(salesman, "sale.order", "action_confirm", order.ids, message="Not enough free stock")
        self.assertFalse(order.oversell_override_reason)
        self.assertFalse(order.oversell_override_user_id)
        self.assertFalse(order.duplicate_override_user_id)
        self._assert_quotation(order)

    # ------------------------------------------------------------------
    # sale.order state
    # ------------------------------------------------------------------

    def test_state_sale_cannot_be_written_created_or_imported(self):
        self.company.sales_oversell_mode = "block"
        cases = {
            "approval": self._needs_approval(),
            "completeness": self._incomplete(),
            "oversell": self._short(),
        }
        for case, order in cases.items():
            with self.subTest(case=case):
                self._refused(self.salesman, "sale.order", "write", order.ids, {"state": "sale"},
                              message=STATE_REFUSED)
                self._refused(self.sales_manager, "sale.order", "write", order.ids, {"state": "sale"},
                              message=STATE_REFUSED)
                self._load_refused(self.salesman, "sale.order", [".id", "state"], [[str(order.id), "sale"]],
                                   STATE_REFUSED)
                self._assert_quotation(order)
        vals = {"partner_id": self.customer.id, "user_id": self.salesman.id}
        before = self.env["sale.order"].search_count([])
        self._refused(self.salesman, "sale.order", "create", [dict(vals, state="sale")], message=STATE_REFUSED)
        self._refused(self.salesman, "sale.order", "create", [vals], context={"default_state": "sale"},
                      message=STATE_REFUSED)
        self._load_refused(self.salesman, "sale.order", ["partner_id/.id", "state"],
                           [[str(self.customer.id), "sale"]], STATE_REFUSED)
        self.assertEqual(self.env["sale.order"].search_count([]), before)
        # Between quotation states nothing is protected.
        order = cases["completeness"]
        self.assertIs(self._rpc(self.salesman, "sale.order", "write", order.ids, {"state": "sent"}), True)
        self.assertEqual(order.state, "sent")

    def test_protected_order_cannot_be_cancelled_or_archived(self):
        order, invoice, payment = self._full_flow(user_id=self.salesman.id)
        for user in (self.salesman, self.sales_manager):
            self._refused(user, "sale.order", "write", order.ids, {"state": "cancel"}, message=STATE_REFUSED)
            self._refused(user, "sale.order", "write", order.ids, {"state": "draft"}, message=STATE_REFUSED)
            self._refused(user, "sale.order", "write", order.ids, {"active": False}, message="cannot be archived")
            self._refused(user, "sale.order", "action_cancel", order.ids, message="cannot be cancelled")
        try:
            # The archive action may open the wizard that asks for the reason.
            self._rpc(self.sales_manager, "sale.order", "action_archive", order.ids,
                      context={"sales_document_archive_reason": "forged"})
        except xmlrpc.client.Fault as fault:
            self.assertIn("cannot be archived", fault.faultString)
        self._load_refused(self.sales_manager, "sale.order", [".id", "active"], [[str(order.id), "False"]],
                           "cannot be archived")
        self.assertEqual(order.state, "sale")
        self.assertTrue(order.active)
        self.assertFalse(order.stage_cancelled_date)

    def test_unprotected_quotation_archives(self):
        order = self._create_order(user=self.salesman)
        # Not by a bare write: archiving asks for a reason.
        self._refused(self.salesman, "sale.order", "write", order.ids, {"active": False},
                      message="archived only with a reason")
        self.assertTrue(order.active)
        wizard_id = self._rpc(self.salesman, "sales.document.archive.wizard", "create",
                              {"order_ids": [(6, 0, order.ids)], "reason": "Customer withdrew"})
        self._rpc(self.salesman, "sales.document.archive.wizard", "action_confirm", [wizard_id])
        self.assertFalse(order.active)
        self.assertEqual(order.archive_reason, "Customer withdrew")

    def test_stage_trail_cannot_be_written(self):
        trail = "recorded by the server"
        order = self._create_order(user=self.salesman)
        self._refused(self.salesman, "sale.order", "write", order.ids,
                      {"stage_confirmed_date": "2020-01-01 08:00:00"}, message=trail)
        self._refused(self.salesman, "sale.order", "write", order.ids,
                      {"stage_approved_user_id": self.sales_manager.id}, message=trail)
        self._refused(self.salesman, "sale.order", "create",
                      [{"partner_id": self.customer.id, "stage_paid_date": "2020-01-01 08:00:00"}], message=trail)
        self._load_refused(self.salesman, "sale.order", [".id", "stage_confirmed_date"],
                           [[str(order.id), "2020-01-01 08:00:00"]], trail)
        self.assertFalse(order.stage_confirmed_date)
        self.assertFalse(order.stage_approved_user_id)
        flow_order, invoice, _payment = self._full_flow(user_id=self.salesman.id)
        paid_on = invoice.stage_paid_date
        self._refused(self.accountant, "account.move", "write", invoice.ids,
                      {"stage_paid_date": "2020-01-01 08:00:00"}, message=trail)
        self.assertEqual(invoice.stage_paid_date, paid_on)
        # The server records the stage as it is passed.
        self.assertTrue(flow_order.stage_confirmed_date)
        self.assertEqual(flow_order.stage_confirmed_user_id, self.env.user)

    # ------------------------------------------------------------------
    # Invoices, deliveries, payments
    # ------------------------------------------------------------------

    def test_move_state_cannot_be_written(self):
        order, invoice, payment = self._full_flow(user_id=self.salesman.id)
        draft = self._invoice(self._confirmed_service_order(), post=False)
        for state in ("draft", "cancel"):
            self._refused(self.accountant, "account.move", "write", invoice.ids, {"state": state},
                          message=STATE_REFUSED)
        for state in ("posted", "cancel"):
            self._refused(self.accountant, "account.move", "write", draft.ids, {"state": state},
                          message=STATE_REFUSED)
        self._load_refused(self.accountant, "account.move", [".id", "state"], [[str(draft.id), "posted"]],
                           STATE_REFUSED)
        vals = {"move_type": "out_invoice", "partner_id": self.customer.id}
        self._refused(self.accountant, "account.move", "create", [dict(vals, state="cancel")],
                      message=STATE_REFUSED)
        self._refused(self.accountant, "account.move", "button_draft", invoice.ids, message="is paid by")
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(invoice.payment_state, self.env["account.move"]._get_invoice_in_payment_state())
        self.assertEqual(draft.state, "draft")
        self.assertFalse(draft.stage_invoiced_date)

    def test_delivery_state_cannot_be_written(self):
        order = self._create_order(user=self.salesman)
        order.action_confirm()
        picking = order.picking_ids
        self.assertEqual(picking.state, "assigned")
        quantity = self.product.qty_available
        self._refused(self.warehouse_user, "stock.picking", "write", picking.ids, {"state": "done"},
                      message=STATE_REFUSED)
        self._refused(self.warehouse_user, "stock.picking", "write", picking.ids, {"state": "cancel"},
                      message=STATE_REFUSED)
        self._refused(self.warehouse_user, "stock.move", "write", picking.move_ids.ids, {"state": "done"},
                      message="becomes done only")
        self._load_refused(self.warehouse_user, "stock.picking", [".id", "state"], [[str(picking.id), "done"]],
                           STATE_REFUSED)
        self.assertEqual(picking.state, "assigned")
        self.assertEqual(picking.move_ids.mapped("state"), ["assigned"])
        self.assertEqual(self.product.qty_available, quantity)
        self.assertFalse(order.stage_delivered_date)
        # Once done, a delivery stays done.
        self._deliver(order)
        self._refused(self.warehouse_user, "stock.move", "write", picking.move_ids.ids, {"state": "cancel"},
                      message="becomes done only")
        self._refused(self.warehouse_user, "stock.picking", "write", picking.ids, {"state": "cancel"},
                      message=STATE_REFUSED)
        self.assertEqual(picking.state, "done")

    def test_payment_state_cannot_be_written(self):
        order, invoice, payment = self._full_flow(user_id=self.salesman.id)
        draft = self.env["account.payment"].create({
            "payment_type": "inbound",
            "partner_type": "customer",
            "partner_id": self.customer.id,
            "amount": 10.0,
            "journal_id": self.bank_journal.id,
        })
        for state in ("in_process", "paid", "canceled"):
            self._refused(self.accountant, "account.payment", "write", draft.ids, {"state": state},
                          message=STATE_REFUSED)
        payment_state = payment.state
        for state in ("draft", "canceled", "in_process" if payment_state == "paid" else "paid"):
            self._refused(self.accountant, "account.payment", "write", payment.ids, {"state": state},
                          message=STATE_REFUSED)
        self._refused(self.accountant, "account.payment", "create", [{
            "payment_type": "inbound", "partner_type": "customer", "partner_id": self.customer.id,
            "amount": 5.0, "journal_id": self.bank_journal.id, "state": "paid",
        }], message=STATE_REFUSED)
        self._load_refused(self.accountant, "account.payment", [".id", "state"], [[str(draft.id), "paid"]],
                           STATE_REFUSED)
        self.assertEqual(draft.state, "draft")
        self.assertFalse(draft.move_id)
        self.assertEqual(payment.state, payment_state)
        self.assertEqual(payment.move_id.state, "posted")

    def _confirmed_service_order(self):
        order = self._create_order([(self.service, 1.0)])
        order.action_confirm()
        return order


@tagged("post_install", "-at_install")
class TestConfirmationPipeline(HostileCase):
    def _assert_refused(self, call, message, order):
        with self.assertRaises(UserError) as catcher:
            call()
        self.assertIn(message, str(catcher.exception))
        self.assertIn(order.state, ("draft", "sent"))
        self.assertFalse(order.picking_ids)

    def test_action_confirm_hook_runs_the_guards(self):
        """Server code calling ``_action_confirm`` directly gets the same guards."""
        approval = self._needs_approval().with_user(self.salesman)
        self._assert_refused(approval._action_confirm, "needs an approval", approval)
        incomplete = self._incomplete().with_user(self.salesman)
        self._assert_refused(incomplete._action_confirm, "Payment Terms", incomplete)
        short = self._short().with_user(self.salesman)
        self._assert_refused(short._action_confirm, "Not enough free stock", short)

    def test_pipeline_order(self):
        """Completeness first, approval second, the stock last."""
        self.company.sales_oversell_mode = "block"
        order = self._create_order([(self.product, 150.0)], user=self.salesman, payment_term_id=False)
        order = order.with_user(self.salesman)
        self._assert_refused(order.action_confirm, "Payment Terms", order)
        order.payment_term_id = self.payment_term
        self._assert_refused(order.action_confirm, "needs an approval", order)
        order.action_request_approval()
        order.with_user(self.sales_manager).action_approve()
        self._assert_refused(order.action_confirm, "Not enough free stock", order)

    def test_portal_and_payment_reach_the_guards(self):
        order = self._short()
        order.action_quotation_sent()
        public = self.env.ref("base.public_user")
        self._assert_refused(order.with_user(public).sudo()._validate_order, "Not enough free stock", order)

    def test_bulk_state_check_is_set_wise(self):
        """The state guard reads the states of a bulk write once, not per record."""
        Order = self.env["sale.order"]
        orders = Order.create([{"partner_id": self.customer.id, "user_id": self.salesman.id}] * 200)
        # Warm the salesperson's access caches with a first read.
        orders.invalidate_recordset()
        orders.with_user(self.salesman)._sd_check_state_write({"state": "sent"})
        counts = []
        for records in (orders[:20], orders):
            records = records.with_user(self.salesman)
            self.env.flush_all()
            orders.invalidate_recordset()
            before = self.env.cr.sql_log_count
            records._sd_check_state_write({"state": "sent"})
            counts.append(self.env.cr.sql_log_count - before)
            orders.invalidate_recordset()
            with self.assertRaises(UserError):
                records._sd_check_state_write({"state": "sale"})
        self.assertEqual(counts, [1, 1], "one query for 20 orders as for 200")
        orders.with_user(self.salesman).write({"state": "sent"})
        self.assertEqual(set(orders.mapped("state")), {"sent"})

    def test_forged_context_marker_is_not_a_transition(self):
        """Any JSON value under the transition key is no transition."""
        order = self._needs_approval().with_user(self.salesman)
        for value in (True, 1, "x", {"ids": order.ids}):
            with self.assertRaises(UserError):
                order.with_context(sd_state_transition=value).write({"state": "sale"})
        self.assertEqual(order.state, "draft")
