"""Shared set-up for tests of the registry and of the addons built on it.

``SalesDocumentCase`` gives a company with a chart of accounts, a customer,
salespeople, stocked products, a shipping method and an inbound payment
method, and helpers that walk an order through the whole order-to-cash flow
with Odoo's own code paths.
"""

import xmlrpc.client
from contextlib import contextmanager

from odoo import SUPERUSER_ID, Command, api
from odoo.tests import Form, TransactionCase
from odoo.tools import SQL, config


def set_server_option(case, key, value, add_cleanup=None):
    """Set server option ``key`` for the duration of one test of ``case``, restored afterwards.

    ``add_cleanup`` registers the restore (default ``case.addCleanup``; a class
    passes its ``addClassCleanup`` to keep the option for all its tests).
    """
    add_cleanup = add_cleanup or case.addCleanup
    missing = object()
    previous = config.options.get(key, missing)
    if previous is missing:
        add_cleanup(config.options.pop, key, None)
    else:
        add_cleanup(config.options.__setitem__, key, previous)
    config.options[key] = value


class CommittedDataMixin:
    """For the tests that must commit: other connections, processes and
    servers see only committed data, never the test's own transaction.

    ``_committed()`` gives a superuser environment on a cursor of its own,
    committed when the block ends. Whatever a test commits is removed by the
    function it hands to ``_cleanup_committed`` right after committing it,
    run at the end of the test in a committed cursor of its own, even when
    the test fails half-way.
    """

    @contextmanager
    def _committed(self, context=None):
        """A superuser environment on a cursor of its own, committed when the block ends."""
        with self.registry.cursor() as cr:
            yield api.Environment(cr, SUPERUSER_ID, dict(context or {}))

    def _cleanup_committed(self, remove):
        """Run ``remove(env)`` when the test ends, in a committed superuser cursor of its own."""

        def run():
            with self._committed({"tracking_disable": True}) as env:
                # Never hang the run on a lock the test left behind: fail instead.
                env.cr.execute(SQL("SET LOCAL lock_timeout = '30s'"))
                remove(env)

        self.addCleanup(run)


class SalesDocumentCase(CommittedDataMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True, mail_notrack=True))
        cls.company = cls.env.company
        cls._ensure_chart(cls.company)
        cls.warehouse = cls.env["stock.warehouse"].search([("company_id", "=", cls.company.id)], limit=1)
        cls.stock_location = cls.warehouse.lot_stock_id
        cls.bank_journal = cls.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", cls.company.id)], limit=1
        )
        cls.payment_method_line = cls.bank_journal.inbound_payment_method_line_ids[:1]
        cls.payment_term = cls.env.ref("account.account_payment_term_30days")
        cls.salesman_group = cls.env.ref("sales_team.group_sale_salesman")
        cls.salesman = cls._create_user("sd_salesman", "Sally Seller", ["sales_team.group_sale_salesman"])
        cls.salesman_2 = cls._create_user("sd_salesman2", "Sam Seller", ["sales_team.group_sale_salesman"])
        cls.sales_manager = cls._create_user("sd_manager", "Mona Manager", ["sales_team.group_sale_manager"])
        cls.customer = cls.env["res.partner"].create({
            "name": "Acme Trading Co.",
            "is_company": True,
            "user_id": cls.salesman.id,
            "property_inbound_payment_method_line_id": cls.payment_method_line.id,
        })
        cls.customer_contact = cls.env["res.partner"].create({
            "name": "Alice Buyer", "parent_id": cls.customer.id, "type": "contact",
        })
        cls.other_customer = cls.env["res.partner"].create({
            "name": "Globex Ltd.", "is_company": True, "user_id": cls.salesman_2.id,
        })
        cls.carrier_product = cls.env["product.product"].create({
            "name": "Standard shipping", "type": "service", "list_price": 0.0,
        })
        cls.carrier = cls.env["delivery.carrier"].create({
            "name": "Standard shipping",
            "product_id": cls.carrier_product.id,
            "delivery_type": "fixed",
            "fixed_price": 0.0,
        })
        cls.product = cls._create_product("Widget", 100.0, qty=100)
        cls.product_2 = cls._create_product("Gadget", 50.0, qty=100)
        cls.service = cls.env["product.product"].create({
            "name": "Installation", "type": "service", "list_price": 80.0, "invoice_policy": "order",
        })

    # ------------------------------------------------------------------
    # Set-up helpers
    # ------------------------------------------------------------------

    @classmethod
    def _ensure_chart(cls, company):
        if not cls.env["account.account"].search_count([("company_ids", "in", company.id)], limit=1):
            cls.env["account.chart.template"].try_loading("generic_coa", company=company, install_demo=False)

    @classmethod
    def _create_user(cls, login, name, groups, company=None):
        company = company or cls.env.company
        return cls.env["res.users"].with_context(no_reset_password=True).create({
            "name": name,
            "login": login,
            "email": f"{login}@example.com",
            "company_id": company.id,
            "company_ids": [Command.set([company.id])],
            "groups_id": [Command.set([cls.env.ref(g).id for g in groups])],
        })

    @classmethod
    def _create_product(cls, name, price, qty=0.0, company=None):
        product = cls.env["product.product"].create({
            "name": name,
            "type": "consu",
            "is_storable": True,
            "list_price": price,
            "invoice_policy": "delivery",
        })
        if qty:
            warehouse = cls.warehouse if not company else cls.env["stock.warehouse"].search(
                [("company_id", "=", company.id)], limit=1
            )
            cls.env["stock.quant"]._update_available_quantity(product, warehouse.lot_stock_id, qty)
        return product

    # ------------------------------------------------------------------
    # Flow helpers
    # ------------------------------------------------------------------

    def _order_vals(self, lines=None, **vals):
        lines = lines or [(self.product, 2.0)]
        values = {
            "partner_id": self.customer.id,
            "user_id": self.salesman.id,
            "payment_term_id": self.payment_term.id,
            "carrier_id": self.carrier.id,
            "preferred_payment_method_line_id": self.payment_method_line.id,
            "order_line": [
                Command.create({"product_id": product.id, "product_uom_qty": qty}) for product, qty in lines
            ],
        }
        values.update(vals)
        return values

    def _create_order(self, lines=None, user=None, **vals):
        """A complete quotation, ready to confirm."""
        Order = self.env["sale.order"]
        if user:
            Order = Order.with_user(user)
        return Order.create(self._order_vals(lines, **vals))

    def _deliver(self, order):
        pickings = order.picking_ids.filtered(lambda p: p.state not in ("done", "cancel"))
        for picking in pickings:
            for move in picking.move_ids:
                move.quantity = move.product_uom_qty
            picking.move_ids.picked = True
            picking.button_validate()
        return pickings

    def _invoice(self, order, post=True):
        invoice = order._create_invoices()
        if post:
            invoice.action_post()
        return invoice

    def _pay(self, invoices, amount=None):
        ctx = {"active_model": "account.move", "active_ids": invoices.ids}
        wizard = Form(self.env["account.payment.register"].with_context(**ctx))
        if amount is not None:
            wizard.amount = amount
        return wizard.save()._create_payments()

    def _full_flow(self, lines=None, **vals):
        """Order confirmed, delivered, invoiced, posted and paid."""
        order = self._create_order(lines, **vals)
        order.action_confirm()
        self._deliver(order)
        invoice = self._invoice(order)
        payment = self._pay(invoice)
        return order, invoice, payment

    def _registry_rows(self, records):
        """Registry rows of the given documents."""
        return self.env["sales.document"].search([
            ("res_model", "=", records._name), ("res_id", "in", records.ids),
        ])


class RegistryAccessRpcMixin:
    """Compare, over XML-RPC as one user, the registry with the documents' own models.

    For an ``HttpCase``: the user's password must be their login.
    """

    def _rpc_as(self, user, model, method, *args, **kwargs):
        return self.xmlrpc_object.execute_kw(
            self.env.cr.dbname, user.id, user.login, model, method, list(args), kwargs
        )

    def _expected_rows(self, user, context):
        """Registry rows (sudo) whose document ``user`` reads through its own model."""
        every_row = self.env["sales.document"].with_context(active_test=False).search([])
        by_model = {}
        for row in every_row:
            by_model.setdefault(row.res_model, []).append(row)
        expected = self.env["sales.document"]
        for model, rows in by_model.items():
            try:
                readable = set(self._rpc_as(
                    user, model, "search", [("id", "in", [row.res_id for row in rows])],
                    context={**context, "active_test": False},
                ))
            except xmlrpc.client.Fault as error:
                if "AccessError" not in error.faultString and "not allowed" not in error.faultString:
                    raise
                readable = set()
            expected |= self.env["sales.document"].concat(*(row for row in rows if row.res_id in readable))
        return expected

    def assertRegistryMatchesModels(self, user, context=None):
        """search, search_count, read_group and web_read_group of the registry as ``user``
        give exactly the rows whose documents ``user`` reads."""
        context = {"active_test": False, **(context or {})}
        self.env.flush_all()
        expected = self._expected_rows(user, context)
        label = user.login
        found = self._rpc_as(user, "sales.document", "search", [], context=context)
        self.assertEqual(sorted(found), sorted(expected.ids), f"{label}: search")
        # Page by page, newest first, as a list view reads them.
        visible = set(expected.ids)
        newest_first = [
            row_id for row_id in self.env["sales.document"].with_context(active_test=False).search([]).ids
            if row_id in visible
        ]
        for offset in range(0, len(newest_first) + 1, 4):
            page = self._rpc_as(user, "sales.document", "search", [], offset=offset, limit=4, context=context)
            self.assertEqual(page, newest_first[offset:offset + 4], f"{label}: page at {offset}")
        count = self._rpc_as(user, "sales.document", "search_count", [], context=context)
        self.assertEqual(count, len(expected), f"{label}: search_count")
        # Counted up to a limit, as the list counts.
        for limit in (1, 3, len(expected) + 5):
            count = self._rpc_as(user, "sales.document", "search_count", [], limit=limit, context=context)
            self.assertEqual(count, min(limit, len(expected)), f"{label}: count up to {limit}")
        # One product's and one tag's documents (read from their links), page by page and counted.
        filters = [([("product_id", "=", product.id)], lambda row, product=product: product in row.product_ids)
                   for product in expected.product_ids[:1]]
        filters += [([("tag_ids", "in", [tag.id])], lambda row, tag=tag: tag in row.tag_ids)
                    for tag in expected.tag_ids[:1]]
        # One customer's documents (read from the customer's index, found and read at once).
        filters += [([("partner_id", "=", partner.id)], lambda row, partner=partner: row.partner_id == partner)
                    for partner in expected.partner_id[:1]]
        for domain, matches in filters:
            linked = {row.id for row in expected if matches(row)}
            wanted = [row_id for row_id in newest_first if row_id in linked]
            for offset in range(0, len(wanted) + 1, 3):
                page = self._rpc_as(user, "sales.document", "search", domain, offset=offset, limit=3, context=context)
                self.assertEqual(page, wanted[offset:offset + 3], f"{label}: {domain} page at {offset}")
            for limit in (1, len(wanted) + 5):
                count = self._rpc_as(user, "sales.document", "search_count", domain, limit=limit, context=context)
                self.assertEqual(count, min(limit, len(wanted)), f"{label}: {domain} count up to {limit}")
        for partner in expected.partner_id[:1]:
            # What the list shows of them, read in the statement that finds them.
            shown = self._rpc_as(
                user, "sales.document", "search_read", [("partner_id", "in", partner.ids)],
                ["name", "doc_type", "state", "amount_total", "sale_order_name"], limit=80, context=context,
            )
            rows = expected.filtered(lambda row, partner=partner: row.partner_id == partner)
            self.assertEqual(
                [(r["id"], r["name"], r["doc_type"], r["state"], r["sale_order_name"]) for r in shown],
                [(row.id, row.name, row.doc_type, row.state, row.sale_order_name)
                 for row in rows.sorted(lambda row: newest_first.index(row.id))][:80],
                f"{label}: one customer's list",
            )
        by_state = {}
        for row in expected:
            by_state[row.state] = by_state.get(row.state, 0) + 1
        groups = self._rpc_as(
            user, "sales.document", "read_group", [], ["amount_total:sum"], ["state"], lazy=False, context=context
        )
        self.assertEqual({g["state"]: g["__count"] for g in groups}, by_state, f"{label}: read_group")
        self.assertAlmostEqual(
            sum(g["amount_total"] for g in groups), sum(expected.mapped("amount_total")), 2, f"{label}: amounts"
        )
        web = self._rpc_as(
            user, "sales.document", "web_read_group", [], ["amount_total:sum"], ["doc_type"], lazy=False,
            context=context,
        )
        by_type = {}
        for row in expected:
            by_type[row.doc_type] = by_type.get(row.doc_type, 0) + 1
        self.assertEqual({g["doc_type"]: g["__count"] for g in web["groups"]}, by_type, f"{label}: web_read_group")
        self.assertEqual(web["length"], len(by_type), f"{label}: web_read_group length")
        return expected

    def _access_parts(self, user, context=None):
        """The registry's access domain for ``user``: whether it uses a sub-query on a document table."""
        domain = self.env["sales.document"].with_user(user).with_context(**(context or {}))._document_access_domain()
        return [leaf[0] for leaf in domain if isinstance(leaf, (list, tuple))]

    def _subquery_models(self, user, context=None):
        """The document models whose record rules the registry answers for ``user`` with a
        sub-query on their table (``res_model = M AND res_id IN (...)``)."""
        domain = self.env["sales.document"].with_user(user).with_context(**(context or {}))._document_access_domain()
        leaves = [leaf for leaf in domain if isinstance(leaf, (list, tuple))]
        return {
            previous[2] for previous, leaf in zip(leaves, leaves[1:])
            if leaf[0] == "res_id" and previous[0] == "res_model" and previous[1] == "="
        }
