import xmlrpc.client

from odoo.tests import HttpCase, tagged

from .common import AuditCase

ACCESS_ERROR = 4  # XML-RPC fault code of an AccessError (odoo.addons.base.controllers.rpc)
OPERATIONS = {"R": "read", "W": "write", "C": "create", "U": "unlink"}
DOC_TYPES = ("order", "delivery", "invoice", "credit_note", "payment")

# role -> doc type -> (rights on own-customer documents, rights on others' documents)
EXPECTED = {
    "salesman": {
        "order": ("RWC", ""),
        "delivery": ("RWC", ""),
        "invoice": ("R", ""),
        "credit_note": ("R", ""),
        "payment": ("R", ""),
    },
    "manager": {
        "order": ("RWCU", "RWCU"),
        "delivery": ("RWCU", "RWCU"),
        "invoice": ("R", "R"),
        "credit_note": ("R", "R"),
        "payment": ("R", "R"),
    },
    "warehouse": {
        "order": ("RW", "RW"),
        "delivery": ("RWCU", "RWCU"),
        "invoice": ("", ""),
        "credit_note": ("", ""),
        "payment": ("", ""),
    },
    "accountant": {
        "order": ("R", "R"),
        "delivery": ("R", "R"),
        "invoice": ("RWCU", "RWCU"),
        "credit_note": ("RWCU", "RWCU"),
        "payment": ("RWCU", "RWCU"),
    },
    "auditor": dict.fromkeys(DOC_TYPES, ("R", "R")),
    "officer": dict.fromkeys(DOC_TYPES, ("R", "R")),
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
        }
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

    def _rpc(self, user, model, method, args, kwargs=None):
        """Call the server over XML-RPC; True if allowed, False on an access error."""
        self.env.flush_all()
        try:
            self.xmlrpc_object.execute_kw(
                self.env.cr.dbname, user.id, f"{user.login}-pw", model, method, args, kwargs or {}
            )
        except xmlrpc.client.Fault as fault:
            if fault.faultCode == ACCESS_ERROR:
                return False
            if fault.faultCode != 2:  # a business error means access was granted
                self.fail(f"{user.login} {model}.{method}: unexpected server error {fault.faultString}")
        finally:
            self.env.invalidate_all()
        return True

    def _attempt(self, user, doc_type, letter, record, partner, salesman):
        model = self.MODELS[doc_type]
        if letter == "R":
            return self._rpc(user, model, "read", [record.ids], {"fields": ["display_name"]})
        if letter == "W":
            return self._rpc(user, model, "write", [record.ids, self.WRITE_VALS[doc_type]])
        if letter == "C":
            return self._rpc(user, model, "create", [[self._create_vals(doc_type, partner, salesman)]])
        target = self.env[model].sudo().create(self._create_vals(doc_type, partner, salesman))
        return self._rpc(user, model, "unlink", [target.ids])

    # ------------------------------------------------------------------
    # Tests
    # ------------------------------------------------------------------

    def test_role_matrix_over_xmlrpc(self):
        own = self._documents(self.customer, self.salesman)
        others = self._documents(self.other_customer, self.salesman_2)
        mismatches = []
        for role, user in self.users.items():
            for doc_type in DOC_TYPES:
                for scope, docs, partner, salesman, rights in (
                    ("own", own, self.customer, self.salesman, EXPECTED[role][doc_type][0]),
                    ("others", others, self.other_customer, self.salesman_2, EXPECTED[role][doc_type][1]),
                ):
                    for letter in "RWCU":
                        allowed = self._attempt(user, doc_type, letter, docs[doc_type], partner, salesman)
                        if allowed != (letter in rights):
                            mismatches.append(
                                f"{role} {OPERATIONS[letter]} {scope} {doc_type}: "
                                f"{'allowed' if allowed else 'denied'}, expected the opposite"
                            )
        self.assertFalse(mismatches, "\n".join(mismatches))

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
