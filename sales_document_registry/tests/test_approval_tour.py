import xmlrpc.client

from odoo.tests import HttpCase, get_db_name, tagged

from .common import SalesDocumentCase

# A whole tour, page loads included, on a machine that may be busy with other work.
TOUR_TIMEOUT = 180


@tagged("post_install", "-at_install")
class TestApprovalUi(HttpCase, SalesDocumentCase):
    """The approval through the browser and through XML-RPC, as real users."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["sales.document.approval.rule"].create({
            "name": "Orders from 1,000",
            "min_amount": 1000.0,
            "approver_group_id": cls.env.ref("sales_team.group_sale_manager").id,
        })
        for user in (cls.salesman, cls.sales_manager):
            user.password = user.login
        cls.order = cls._create_order_for_class()

    @classmethod
    def _create_order_for_class(cls):
        return cls.env["sale.order"].with_user(cls.salesman).create(
            cls._order_vals(cls, [(cls.product, 20.0)])
        )

    def _url(self):
        return f"/odoo/action-sale.action_quotations/{self.order.id}"

    def test_approval_tour(self):
        self.assertEqual(self.order.approval_state, "required")
        self.start_tour(
            self._url(), "sales_document_approval_request", login=self.salesman.login, timeout=TOUR_TIMEOUT
        )
        self.assertEqual(self.order.approval_state, "pending")
        self.assertEqual(self.order.approval_requester_id, self.salesman)
        self.start_tour(
            self._url(), "sales_document_approval_approve", login=self.sales_manager.login,
            timeout=TOUR_TIMEOUT,
        )
        self.assertEqual(self.order.approval_reviewer_id, self.sales_manager)
        self.assertEqual(self.order.state, "sale")
        self.assertEqual(self.order.stage_confirmed_user_id, self.sales_manager)

    def _rpc(self, user, method, *args):
        uid = self.xmlrpc_common.login(get_db_name(), user.login, user.login)
        return self.xmlrpc_object.execute_kw(
            get_db_name(), uid, user.login, "sale.order", method, [[self.order.id], *args]
        )

    def test_approval_over_xmlrpc(self):
        with self.assertRaisesRegex(xmlrpc.client.Fault, "needs an approval"):
            self._rpc(self.salesman, "action_confirm")
        with self.assertRaisesRegex(xmlrpc.client.Fault, "approval of an order is given"):
            self._rpc(self.salesman, "write", {"approval_decision": "approved"})
        self._rpc(self.salesman, "action_request_approval")
        with self.assertRaisesRegex(xmlrpc.client.Fault, "another approver|can only be reviewed"):
            self._rpc(self.salesman, "action_approve")
        self._rpc(self.sales_manager, "action_approve")
        self._rpc(self.salesman, "action_confirm")
        self.assertEqual(self.order.state, "sale")
        self.assertEqual(self.order.approval_state, "approved")

    def test_oversell_over_xmlrpc(self):
        self.env["sales.document.approval.rule"].search([]).active = False
        self.company.sales_oversell_mode = "block"
        self.order.order_line.product_uom_qty = 150.0
        with self.assertRaisesRegex(xmlrpc.client.Fault, r"Widget.*150.*100 free"):
            self._rpc(self.salesman, "action_confirm")
        self.assertEqual(self.order.state, "draft")
        with self.assertRaisesRegex(xmlrpc.client.Fault, "Only sales managers"):
            self._rpc(self.salesman, "write", {"oversell_override_reason": "Urgent"})
        self._rpc(self.sales_manager, "write", {"oversell_override_reason": "Restock on Monday"})
        self._rpc(self.salesman, "action_confirm")
        self.assertEqual(self.order.state, "sale")
        self.assertEqual(self.order.oversell_override_user_id, self.sales_manager)
