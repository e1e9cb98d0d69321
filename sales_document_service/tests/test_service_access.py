import xmlrpc.client

from odoo.tests import HttpCase, tagged

from .common import ServiceCase


@tagged("post_install", "-at_install")
class TestServiceAccess(HttpCase, ServiceCase):
    """Who reads and changes which requests, attacked over XML-RPC as each role."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for user in (cls.salesman, cls.salesman_2, cls.service_user, cls.auditor):
            user.password = user.login
        cls.my_order = cls._confirmed_order_cls(cls.customer)
        cls.their_order = cls._confirmed_order_cls(cls.other_customer)
        cls.mine = cls.env["sales.service.request"].create({
            "partner_id": cls.customer.id, "sale_order_id": cls.my_order.id, "request_type": "complaint",
        })
        cls.theirs = cls.env["sales.service.request"].create({
            "partner_id": cls.other_customer.id, "sale_order_id": cls.their_order.id, "request_type": "question",
        })

    @classmethod
    def _confirmed_order_cls(cls, partner):
        order = cls.env["sale.order"].create({
            "partner_id": partner.id,
            "user_id": partner.user_id.id,
            "payment_term_id": cls.payment_term.id,
            "carrier_id": cls.carrier.id,
            "preferred_payment_method_line_id": cls.payment_method_line.id,
            "order_line": [(0, 0, {"product_id": cls.product.id, "product_uom_qty": 1.0})],
        })
        order.action_confirm()
        order.message_subscribe(partner_ids=partner.ids)
        return order

    def _rpc(self, user, model, method, *args, **kwargs):
        return self.xmlrpc_object.execute_kw(
            self.env.cr.dbname, user.id, user.login, model, method, list(args), kwargs
        )

    def _refused(self, user, model, method, *args, **kwargs):
        with self.assertRaises(xmlrpc.client.Fault, msg=f"{user.login} {method} should be refused") as ctx:
            self._rpc(user, model, method, *args, **kwargs)
        # A clear refusal (user, access or validation error), never a crash (code 1).
        self.assertIn(ctx.exception.faultCode, (2, 3, 4), ctx.exception.faultString)

    def _ids(self, user, model="sales.service.request", domain=None):
        return set(self._rpc(user, model, "search", domain or [("id", "in", (self.mine | self.theirs).ids)]))

    def test_salesperson_sees_own_customers_only(self):
        """A salesperson reads and changes their customers' requests, never another's."""
        self.assertEqual(self._ids(self.salesman), {self.mine.id})
        self.assertEqual(self._ids(self.salesman_2), {self.theirs.id})
        self._refused(self.salesman, "sales.service.request", "read", [self.theirs.id], ["name"])
        self._refused(self.salesman, "sales.service.request", "write", [self.theirs.id], {"priority": "3"})
        self._rpc(self.salesman, "sales.service.request", "write", [self.mine.id], {"priority": "1"})
        # Their registry rows follow the same rule.
        rows = self._rpc(self.salesman, "sales.document", "search_read", [("doc_type", "=", "service")],
                         fields=["res_id"])
        self.assertIn(self.mine.id, {row["res_id"] for row in rows})
        self.assertNotIn(self.theirs.id, {row["res_id"] for row in rows})
        # Filing for another salesperson's customer is refused.
        self._refused(self.salesman, "sales.service.request", "create", {
            "partner_id": self.other_customer.id, "request_type": "question",
        })
        self.theirs.invalidate_recordset()
        self.assertEqual(self.theirs.priority, "0")

    def test_service_user_and_auditor(self):
        """Service users handle every request; auditors read them all and change nothing."""
        both = {self.mine.id, self.theirs.id}
        self.assertEqual(self._ids(self.service_user), both)
        self._rpc(self.service_user, "sales.service.request", "write", [self.theirs.id],
                  {"stage_id": self.stage_progress.id})
        self.assertEqual(self._ids(self.auditor), both)
        self._rpc(self.auditor, "sales.service.request", "read", [self.theirs.id], ["name", "rating"])
        self._refused(self.auditor, "sales.service.request", "write", [self.theirs.id], {"priority": "3"})
        self._refused(self.auditor, "sales.service.request", "create", {
            "partner_id": self.customer.id, "request_type": "question",
        })
        self._refused(self.auditor, "sales.service.request", "unlink", [self.theirs.id])
        self._refused(self.service_user, "sales.service.request", "unlink", [self.theirs.id])
        # Nobody sets the rating by hand.
        self._refused(self.service_user, "sales.service.request", "write", [self.mine.id], {"rating": 5})
        self.mine.invalidate_recordset()
        self.assertEqual(self.mine.rating, 0)

    def test_portal_user_only_their_company(self):
        """A portal customer reads their company's requests; forged orders and fields are refused."""
        self.assertEqual(self._ids(self.portal_user), {self.mine.id})
        self._refused(self.portal_user, "sales.service.request", "read", [self.theirs.id], ["name"])
        count = self.env["sales.service.request"].search_count([])
        # Another customer's order, under their own name or under the other customer's.
        self._refused(self.portal_user, "sales.service.request", "create", {
            "partner_id": self.customer.id, "sale_order_id": self.their_order.id, "request_type": "complaint",
        })
        self._refused(self.portal_user, "sales.service.request", "create", {
            "partner_id": self.other_customer.id, "sale_order_id": self.their_order.id, "request_type": "complaint",
        })
        # Fields the company decides.
        for forged in ({"stage_id": self.stage_done.id}, {"user_id": self.salesman.id}, {"rating": 5}):
            self._refused(self.portal_user, "sales.service.request", "create", {
                "partner_id": self.customer.id, "sale_order_id": self.my_order.id, "request_type": "complaint",
                **forged,
            })
        self._refused(self.portal_user, "sales.service.request", "write", [self.mine.id], {"description": "x"})
        self._refused(self.portal_user, "sales.service.request", "unlink", [self.mine.id])
        self.assertEqual(self.env["sales.service.request"].search_count([]), count)
        # Filed properly, the request is the portal customer's, handled by the order's salesperson.
        new_id = self._rpc(self.portal_user, "sales.service.request", "create", {
            "partner_id": self.customer.id, "sale_order_id": self.my_order.id, "request_type": "repair",
            "description": "It stopped working.",
        })
        new = self.env["sales.service.request"].browse(new_id)
        self.assertEqual((new.partner_id, new.user_id, new.stage_id), (self.customer, self.salesman, self.stage_new))
