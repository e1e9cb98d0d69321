import xmlrpc.client

from odoo import Command
from odoo.tests import HttpCase, tagged

from .common import AuditCase

# XML-RPC fault codes (odoo.addons.base.controllers.rpc).
ACCESS_ERROR = 4  # AccessError: refused by an access right or a record rule
BUSINESS_ERROR = 2  # UserError / ValidationError: refused by a business check

# Outcomes of one attempt: done, refused by a rule (ACL or record rule),
# refused by a business check.
DONE, RULE, BUSINESS = "d", "r", "b"
OPERATIONS = {"R": "read", "W": "write", "C": "create", "U": "unlink"}
DOC_TYPES = ("order", "delivery", "invoice", "credit_note", "payment")

# role -> doc type -> (outcomes on own-customer documents, on others'), one
# letter per operation in the order read, write, create, unlink.
EXPECTED = {
    "salesman": {
        "order": ("dddr", "rrrr"),
        "delivery": ("dddr", "rrrr"),
        "invoice": ("drrr", "rrrr"),
        "credit_note": ("drrr", "rrrr"),
        "payment": ("drrr", "rrrr"),
    },
    "manager": {
        # A draft is not deleted outright: the registry asks for a reason and
        # archives (orders) or cancels (invoices, payments) it. The delivery
        # created here belongs to no order: it is not a sales document.
        "order": ("dddb", "dddb"),
        "delivery": ("dddd", "dddd"),
        "invoice": ("drrr", "drrr"),
        "credit_note": ("drrr", "drrr"),
        "payment": ("drrr", "drrr"),
    },
    "warehouse": {
        "order": ("ddrr", "ddrr"),
        "delivery": ("dddd", "dddd"),
        "invoice": ("rrrr", "rrrr"),
        "credit_note": ("rrrr", "rrrr"),
        "payment": ("rrrr", "rrrr"),
    },
    "accountant": {
        "order": ("drrr", "drrr"),
        "delivery": ("drrr", "drrr"),
        "invoice": ("dddb", "dddb"),
        "credit_note": ("dddb", "dddb"),
        "payment": ("dddb", "dddb"),
    },
    "auditor": dict.fromkeys(DOC_TYPES, ("drrr", "drrr")),
    "officer": dict.fromkeys(DOC_TYPES, ("drrr", "drrr")),
    # A portal user reads their own orders and invoices (Odoo's portal
    # rules, what the portal pages show) and nothing of other customers.
    "portal": {
        "order": ("drrr", "rrrr"),
        "delivery": ("rrrr", "rrrr"),
        "invoice": ("drrr", "rrrr"),
        "credit_note": ("drrr", "rrrr"),
        "payment": ("rrrr", "rrrr"),
    },
}


@tagged("post_install", "-at_install")
class TestRoleMatrix(AuditCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users = {
            "salesman": cls.salesman,
            "manager": cls.sales_manager,
            "warehouse": cls._create_user("sd_warehouse", "Wanda Warehouse", ["stock.group_stock_user"]),
            "accountant": cls._create_user("sd_accountant", "Alan Accountant", ["account.group_account_invoice"]),
            "auditor": cls._create_user("sd_auditor", "Audrey Auditor", ["sales_document_audit.group_auditor"]),
            "officer": cls._create_user(
                "sd_officer", "Oscar Officer", ["sales_document_audit.group_security_officer"]
            ),
            "portal": cls._create_user("sd_portal", "Paula Portal", ["base.group_portal"]),
        }
        # The portal user is a contact of the salesperson's customer.
        cls.users["portal"].partner_id.parent_id = cls.customer
        for user in cls.users.values():
            user.password = f"{user.login}-pw"

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    def _documents(self, partner, salesman):
        order, invoice, payment = self._full_flow(partner_id=partner.id, user_id=salesman.id)
        credit_note = invoice._reverse_moves([{"ref": "credit"}])
        credit_note.action_post()
        return {
            "order": order,
            "delivery": order.picking_ids[:1],
            "invoice": invoice,
            "credit_note": credit_note,
            "payment": payment,
        }

    def _create_vals(self, doc_type, partner, salesman):
        out_type = self.warehouse.out_type_id
        return {
            "order": {"partner_id": partner.id, "user_id": salesman.id},
            "delivery": {
                "partner_id": partner.id,
                "picking_type_id": out_type.id,
                "location_id": out_type.default_location_src_id.id,
                "location_dest_id": self.env.ref("stock.stock_location_customers").id,
            },
            "invoice": {"move_type": "out_invoice", "partner_id": partner.id, "invoice_user_id": salesman.id},
            "credit_note": {"move_type": "out_refund", "partner_id": partner.id, "invoice_user_id": salesman.id},
            "payment": {
                "payment_type": "inbound",
                "partner_type": "customer",
                "partner_id": partner.id,
                "amount": 1.0,
                "journal_id": self.bank_journal.id,
            },
        }[doc_type]

    WRITE_VALS = {
        "order": {"client_order_ref": "matrix"},
        "delivery": {"origin": "matrix"},
        "invoice": {"ref": "matrix"},
        "credit_note": {"ref": "matrix"},
        "payment": {"memo": "matrix"},
    }

    MODELS = {
        "order": "sale.order",
        "delivery": "stock.picking",
        "invoice": "account.move",
        "credit_note": "account.move",
        "payment": "account.payment",
    }

    def _call(self, user, model, method, args, kwargs=None):
        """Call the server over XML-RPC as ``user``: DONE, RULE or BUSINESS."""
        self.env.flush_all()
        try:
            self.xmlrpc_object.execute_kw(
                self.env.cr.dbname, user.id, f"{user.login}-pw", model, method, args, kwargs or {}
            )
        except xmlrpc.client.Fault as fault:
            if fault.faultCode == ACCESS_ERROR:
                return RULE
            if fault.faultCode == BUSINESS_ERROR:
                return BUSINESS
            self.fail(f"{user.login} {model}.{method}: unexpected server error {fault.faultString}")
        finally:
            self.env.invalidate_all()
        return DONE

    def _rpc(self, user, model, method, args, kwargs=None):
        """True when the call was done, False when a rule refused it."""
        outcome = self._call(user, model, method, args, kwargs)
        self.assertNotEqual(outcome, BUSINESS, f"{user.login} {model}.{method}: refused by a business check")
        return outcome == DONE

    def _attempt(self, user, doc_type, letter, record, partner, salesman):
        model = self.MODELS[doc_type]
        if letter == "R":
            return self._call(user, model, "read", [record.ids], {"fields": ["display_name"]})
        if letter == "W":
            return self._call(user, model, "write", [record.ids, self.WRITE_VALS[doc_type]])
        if letter == "C":
            return self._call(user, model, "create", [[self._create_vals(doc_type, partner, salesman)]])
        target = self.env[model].sudo().create(self._create_vals(doc_type, partner, salesman))
        return self._call(user, model, "unlink", [target.ids])

    # ------------------------------------------------------------------
    # Tests
    # ------------------------------------------------------------------

    def test_role_matrix_over_xmlrpc(self):
        own = self._documents(self.customer, self.salesman)
        others = self._documents(self.other_customer, self.salesman_2)
        names = {DONE: "done", RULE: "refused by a rule", BUSINESS: "refused by a business check"}
        mismatches = []
        for role, user in self.users.items():
            for doc_type in DOC_TYPES:
                for index, (scope, docs, partner, salesman) in enumerate((
                    ("own", own, self.customer, self.salesman),
                    ("others", others, self.other_customer, self.salesman_2),
                )):
                    expected = EXPECTED[role][doc_type][index]
                    for letter, wanted in zip("RWCU", expected, strict=True):
                        outcome = self._attempt(user, doc_type, letter, docs[doc_type], partner, salesman)
                        if outcome != wanted:
                            mismatches.append(
                                f"{role} {OPERATIONS[letter]} {scope} {doc_type}: "
                                f"{names[outcome]}, expected {names[wanted]}"
                            )
        self.assertFalse(mismatches, "\n".join(mismatches))

    def test_accountant_pays_an_invoice_of_an_order_over_xmlrpc(self):
        # The accountant may not change the order, yet paying its invoice notes it in the order's chatter.
        order = self._create_order()
        order.action_confirm()
        self._deliver(order)
        invoice = self._invoice(order)
        accountant = self.users["accountant"]
        context = {"active_model": "account.move", "active_ids": invoice.ids}
        self.env.flush_all()
        wizard_id = self.xmlrpc_object.execute_kw(
            self.env.cr.dbname, accountant.id, f"{accountant.login}-pw", "account.payment.register", "create",
            [{}], {"context": context},
        )
        self.xmlrpc_object.execute_kw(
            self.env.cr.dbname, accountant.id, f"{accountant.login}-pw", "account.payment.register",
            "action_create_payments", [[wizard_id]], {"context": context},
        )
        self.env.invalidate_all()
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertIn(f"Invoice {invoice.name} paid", order.message_ids.mapped("body")[0])
        self.assertEqual(order.message_ids[0].author_id, accountant.partner_id)
        # The order itself stays out of the accountant's reach.
        self.assertEqual(self._call(accountant, "sale.order", "write", [order.ids, {"client_order_ref": "x"}]), RULE)

    def test_portal_user_reads_own_documents_only_through_the_portal(self):
        own = self._documents(self.customer, self.salesman)
        others = self._documents(self.other_customer, self.salesman_2)
        portal = self.users["portal"]
        for doc_type in DOC_TYPES:
            record = others[doc_type]
            self.env.flush_all()
            try:
                rows = self.xmlrpc_object.execute_kw(
                    self.env.cr.dbname, portal.id, "sd_portal-pw", record._name, "search_read",
                    [[("id", "=", record.id)]], {"fields": ["display_name"]},
                )
            except xmlrpc.client.Fault as fault:
                self.assertEqual(fault.faultCode, ACCESS_ERROR, fault.faultString)
            else:
                self.assertEqual(rows, [], f"portal: another customer's {doc_type}")
        # Their own order through the portal page, with its access token; never another customer's.
        order = own["order"]
        self.authenticate(portal.login, f"{portal.login}-pw")
        response = self.url_open(f"/my/orders/{order.id}?access_token={order._portal_ensure_token()}")
        self.assertEqual(response.status_code, 200)
        self.assertIn(order.name, response.text)
        foreign = others["order"]
        response = self.url_open(f"/my/orders/{foreign.id}")
        self.assertNotIn(foreign.name, response.text)

    def test_salesperson_of_company_a_reads_nothing_of_company_b(self):
        company_b = self.env["res.company"].create({"name": "Beta Trading Ltd."})
        # The customer's salesperson is the company A salesperson: only the
        # company rules keep company B's documents away from them.
        partner_b = self.env["res.partner"].create({
            "name": "Beta customer", "is_company": True, "user_id": self.salesman.id, "company_id": company_b.id,
        })
        product_b = self.env["product.product"].create({"name": "Beta widget", "type": "consu", "company_id": company_b.id})
        order_b = self.env["sale.order"].with_company(company_b).create({
            "partner_id": partner_b.id,
            "user_id": self.salesman.id,
            "company_id": company_b.id,
            "order_line": [Command.create({"product_id": product_b.id, "product_uom_qty": 1.0})],
        })
        warehouse_b = self.env["stock.warehouse"].search([("company_id", "=", company_b.id)], limit=1)
        picking_b = self.env["stock.picking"].with_company(company_b).create({
            "partner_id": partner_b.id,
            "picking_type_id": warehouse_b.out_type_id.id,
            "location_id": warehouse_b.lot_stock_id.id,
            "location_dest_id": self.env.ref("stock.stock_location_customers").id,
            "company_id": company_b.id,
            "move_ids": [Command.create({
                "name": product_b.name,
                "product_id": product_b.id,
                "product_uom_qty": 1.0,
                "location_id": warehouse_b.lot_stock_id.id,
                "location_dest_id": self.env.ref("stock.stock_location_customers").id,
                "company_id": company_b.id,
            })],
        })
        salesman = self.users["salesman"]
        self.assertEqual(self._call(salesman, "sale.order", "read", [order_b.ids], {"fields": ["name"]}), RULE)
        for model, domain in (
            ("sale.order", [("company_id", "=", company_b.id)]),
            ("stock.picking", [("company_id", "=", company_b.id)]),
            ("stock.move", [("company_id", "=", company_b.id)]),
            ("sale.report", [("company_id", "=", company_b.id)]),
            ("sales.document", [("company_id", "=", company_b.id)]),
        ):
            self.env.flush_all()
            rows = self.xmlrpc_object.execute_kw(
                self.env.cr.dbname, salesman.id, "sd_salesman-pw", model, "search_read", [domain],
                {"fields": ["id"]},
            )
            self.assertEqual(rows, [], f"{model} of company B")
        self.assertEqual(self._call(salesman, "stock.picking", "read", [picking_b.ids], {"fields": ["name"]}), RULE)
        self.assertEqual(self._call(salesman, "stock.move", "read", [picking_b.move_ids.ids], {"fields": ["name"]}), RULE)

    def test_no_leak_of_unassigned_orders_and_registry_follows(self):
        own = self._documents(self.customer, self.salesman)
        others = self._documents(self.other_customer, self.salesman_2)
        unassigned = self._create_order(partner_id=self.other_customer.id, user_id=False)
        salesman = self.users["salesman"]
        self.assertFalse(self._rpc(salesman, "sale.order", "read", [unassigned.ids], {"fields": ["name"]}))
        self.env.flush_all()
        visible = self.xmlrpc_object.execute_kw(
            self.env.cr.dbname, salesman.id, "sd_salesman-pw", "sale.order", "search", [[]]
        )
        self.assertIn(own["order"].id, visible)
        self.assertNotIn(unassigned.id, visible)
        self.assertNotIn(others["order"].id, visible)
        rows = self.xmlrpc_object.execute_kw(
            self.env.cr.dbname, salesman.id, "sd_salesman-pw", "sales.document", "search_read", [[]],
            {"fields": ["res_model", "res_id"]},
        )
        seen = {(row["res_model"], row["res_id"]) for row in rows}
        for doc_type, record in own.items():
            self.assertIn((record._name, record.id), seen, f"own {doc_type} in the registry")
        for doc_type, record in others.items():
            self.assertNotIn((record._name, record.id), seen, f"other {doc_type} hidden from the registry")
        self.assertNotIn(("sale.order", unassigned.id), seen)
        # The company setting brings back Odoo's standard visibility of unassigned orders.
        self.company.sales_strict_own_customers = False
        self.assertTrue(self._rpc(salesman, "sale.order", "read", [unassigned.ids], {"fields": ["name"]}))
        self.assertFalse(self._rpc(salesman, "sale.order", "read", [others["order"].ids], {"fields": ["name"]}))

    def test_denied_attempt_is_logged_over_rpc(self):
        others = self._documents(self.other_customer, self.salesman_2)
        salesman = self.users["salesman"]
        self.assertFalse(self._rpc(salesman, "sale.order", "read", [others["order"].ids], {"fields": ["name"]}))
        denied = self.Log.search([
            ("operation", "=", "denied"), ("user_id", "=", salesman.id),
            ("res_model", "=", "sale.order"), ("res_id", "=", others["order"].id),
        ])
        self.assertEqual(len(denied), 1, "the refused attempt survives the rollback of the request")
        self.assertEqual(self._changes(denied), {"operation": "read"})

    def test_auditor_reads_the_trail_and_cannot_change_it(self):
        order = self._create_order()
        self._commit_point()
        auditor = self.users["auditor"]
        log = self._logs(order)
        self.assertTrue(self._rpc(auditor, "sales.document.audit.log", "read", [log.ids], {"fields": ["changes"]}))
        self.assertFalse(self._rpc(auditor, "sales.document.audit.log", "write", [log.ids, {"changes": "{}"}]))
        self.assertFalse(self._rpc(auditor, "sales.document.audit.alert", "create", [[{"rule": "denied"}]]))
        self.assertFalse(self._rpc(self.users["salesman"], "sales.document.audit.log", "read", [log.ids]))
        officer = self.users["officer"]
        self.assertTrue(self._rpc(officer, "sales.document.audit.rule", "search_read", [[]], {"fields": ["model"]}))
        self.assertFalse(self._rpc(auditor, "sales.document.audit.rule", "write", [[1], {"active": True}]))
