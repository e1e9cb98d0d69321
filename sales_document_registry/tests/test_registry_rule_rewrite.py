"""Record rules answered on the registry row: the same rows as the documents' own models."""

import threading
import time
import traceback

from odoo import SUPERUSER_ID, Command, fields
from odoo.osv import expression
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tests import HttpCase, TransactionCase, tagged
from odoo.tools import SQL

from ..tools import registry_access, registry_store
from .common import RegistryAccessRpcMixin, SalesDocumentCase

ORDERS, PICKINGS, INVOICES, PAYMENTS = registry_store.DOCUMENTS


@tagged("post_install", "-at_install")
class TestRowDomain(TransactionCase):
    """The rewrite of one rule domain: exact, or refused."""

    def test_odoo_salesperson_rules_read_on_the_row(self):
        uid = 7
        self.assertEqual(
            registry_access.row_domain(ORDERS, ["|", ("user_id", "=", False), ("user_id", "=", uid)]),
            ["|", ("user_id", "=", uid), ("user_id", "=", False)],
        )
        invoice_rule = [("move_type", "in", ("out_invoice", "out_refund")),
                        "|", ("invoice_user_id", "=", uid), ("invoice_user_id", "=", False)]
        # The invoice condition holds on every invoice row: the two rules read the same.
        self.assertEqual(
            registry_access.row_domain(INVOICES, invoice_rule),
            registry_access.row_domain(ORDERS, ["|", ("user_id", "=", uid), ("user_id", "=", False)]),
        )
        strict = ["|", ("sale_id.user_id", "=", uid), ("partner_id.commercial_partner_id.user_id", "=", uid)]
        self.assertEqual(
            registry_access.row_domain(PICKINGS, strict),
            ["|", ("partner_user_id", "=", uid), ("user_id", "=", uid)],
        )
        payment = [("payment_type", "=", "inbound"), ("partner_type", "=", "customer"),
                   "|", ("sd_sale_order_id.user_id", "=", uid),
                   ("partner_id.commercial_partner_id.user_id", "=", uid)]
        self.assertEqual(registry_access.row_domain(PAYMENTS, payment),
                         ["|", ("partner_user_id", "=", uid), ("user_id", "=", uid)])
        self.assertEqual(registry_access.row_domain(ORDERS, [("company_id", "in", [1, 2])]),
                         [("company_id", "in", [1, 2])])
        self.assertEqual(registry_access.row_domain(ORDERS, []), [])

    def test_access_domain_split_into_its_alternatives(self):
        own, unassigned = ("user_id", "=", 7), ("user_id", "=", False)
        deliveries, invoices = ("res_model", "=", "stock.picking"), ("res_model", "in", ["sale.order", "account.move"])
        company = ("company_id", "in", [1])
        domain = ["&", company, "|", deliveries, "&", invoices, "|", own, unassigned]
        self.assertEqual(registry_access.branches(domain), [
            [company, deliveries], [company, invoices, own], [company, invoices, unassigned],
        ])
        self.assertEqual(registry_access.branches([own]), [[own]])
        self.assertIsNone(registry_access.branches(["!", own]))
        # Past eight alternatives (here 3 x 3 x 3) the domain is left whole.
        three = ["|", "|", own, unassigned, deliveries]
        self.assertIsNone(registry_access.branches(["&", "&", *three, *three, *three]))

    def test_what_the_row_cannot_answer_is_refused(self):
        refused = [
            # a field the row does not hold
            [("amount_total", ">", 100)],
            # a path compared to False: the ORM's sub-query is false without a customer, the column true
            [("partner_id.commercial_partner_id.user_id", "=", False)],
            [("partner_id.commercial_partner_id.user_id", "!=", 7)],
            # a negation is pushed into the leaves, where paths and columns differ
            ["!", ("user_id", "=", 7)],
            # a condition that only some rows of the source meet
            [("move_type", "=", "out_invoice")],
            [("user_id", "child_of", 7)],
        ]
        for domain in refused:
            source = INVOICES if domain[0][0] == "move_type" else ORDERS
            self.assertIsNone(registry_access.row_domain(source, domain), domain)
        # A source that declares nothing answers the company only.
        bare = registry_store.DocumentSource("x", "x", 9, "")
        self.assertIsNone(registry_access.row_domain(bare, [("user_id", "=", 7)]))
        self.assertEqual(registry_access.row_domain(bare, [("company_id", "in", [1])]), [("company_id", "in", [1])])


@tagged("post_install", "-at_install")
class TestRegistryRuleRewrite(RegistryAccessRpcMixin, HttpCase, SalesDocumentCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.accountant = cls._create_user("sd_rr_accountant", "Ann Accountant", ["account.group_account_invoice"])
        cls.company_b = cls.env["res.company"].create({"name": "Rules Company B"})
        cls.multi_manager = cls._create_user("sd_rr_multi", "Max Multi", ["sales_team.group_sale_manager"])
        cls.multi_manager.company_ids = [Command.set([cls.company.id, cls.company_b.id])]
        for user in (cls.salesman, cls.salesman_2, cls.sales_manager, cls.accountant, cls.multi_manager):
            user.password = user.login

    def setUp(self):
        super().setUp()
        # The documents of both salespeople, unassigned ones, and another customer's.
        self.own_flow = self._full_flow(user_id=self.salesman.id)
        self.customer_flow = self._full_flow(user_id=self.salesman_2.id)
        self.other_flow = self._full_flow(partner_id=self.other_customer.id, user_id=self.salesman_2.id)
        self.unassigned = self.env["sale.order"].create({
            "partner_id": self.other_customer.id, "user_id": False,
            "order_line": [Command.create({"product_id": self.product.id, "product_uom_qty": 1})],
        })
        self.order_b = self.env["sale.order"].create({
            "partner_id": self.other_customer.id, "user_id": self.salesman_2.id, "company_id": self.company_b.id,
            "order_line": [Command.create({"product_id": self.service.id, "product_uom_qty": 1})],
        })

    def test_each_role_sees_in_the_registry_what_the_models_let_it_read(self):
        """search, search_count, read_group and web_read_group over XML-RPC, per role."""
        for user in (self.salesman, self.salesman_2, self.sales_manager, self.accountant):
            with self.subTest(user=user.login):
                rows = self.assertRegistryMatchesModels(user)
                self.assertTrue(rows, user.login)
        mine = self.assertRegistryMatchesModels(self.salesman)
        self.assertIn(self.own_flow[0].id, mine.filtered(lambda r: r.doc_type == "order").mapped("res_id"))
        self.assertNotIn(self.other_flow[0].id, mine.filtered(lambda r: r.doc_type == "order").mapped("res_id"))
        # A user of two companies: one company, then both.
        one = self.assertRegistryMatchesModels(self.multi_manager, {"allowed_company_ids": [self.company.id]})
        both = self.assertRegistryMatchesModels(
            self.multi_manager, {"allowed_company_ids": [self.company.id, self.company_b.id]}
        )
        order_b_row = self._registry_rows(self.order_b)
        self.assertNotIn(order_b_row, one)
        self.assertIn(order_b_row, both)

    def test_rules_are_answered_on_the_row(self):
        """No sub-query on a document table for the salesperson, the manager or the accountant.

        (Other addons' sources whose rules the row cannot answer keep theirs.)
        """
        documents = {"sale.order", "stock.picking", "account.move", "account.payment", "crm.lead"}
        for user in (self.salesman, self.sales_manager, self.accountant):
            self.assertFalse(self._subquery_models(user) & documents, user.login)

    def test_a_page_is_read_from_the_top_of_each_rule_alternative(self):
        """A salesperson's page, newest first, unions the first rows of each of his rule's
        alternatives (each in its own index order) instead of walking every row by date."""
        def paged(user, *args, **kwargs):
            # A page is read in the list's order (``search`` passes the model's own).
            kwargs.setdefault("order", "date DESC, id DESC")
            return "UNION ALL" in self.env["sales.document"].with_user(user)._search(*args, **kwargs).select().code

        self.assertTrue(paged(self.salesman, [], limit=4))
        self.assertTrue(paged(self.salesman, [("doc_type", "=", "order")], offset=8, limit=4, order="date DESC,id DESC"))
        # Not for a count, a page in another order or too deep, under a selective filter,
        # nor for a user whose rules have one alternative.
        self.assertFalse(paged(self.salesman, []))
        self.assertFalse(paged(self.salesman, [("partner_id", "=", self.customer.id)], limit=4))
        self.assertFalse(paged(self.salesman, [("tag_ids", "in", [1])], limit=4))
        self.assertFalse(paged(self.salesman, [], limit=4, order="name"))
        self.assertFalse(paged(self.salesman, [], offset=5000, limit=80))
        alternatives = {
            user: len(registry_access.branches(self.env["sales.document"].with_user(user)._document_access_domain()))
            for user in (self.salesman, self.sales_manager, self.accountant)
        }
        self.assertIn(1, alternatives.values())
        for user, count in alternatives.items():
            self.assertEqual(paged(user, [], limit=4), count > 1, user.login)
        # A count up to a limit unions each alternative's first rows, each read from the
        # covering index on what it names: Odoo's own salesperson rules (his own and the
        # unassigned orders and invoices, every delivery) as the strict "own customers" rule.
        for user in (self.salesman, self.sales_manager, self.accountant):
            Registry = self.env["sales.document"].with_user(user)
            alternatives = registry_access.branches(Registry._document_access_domain())
            code = Registry._search([], limit=3).select().code
            self.assertEqual(" UNION (" in code, len(alternatives) > 1, user.login)
            total = Registry.search_count([])
            for limit in (1, 2, total, total + 1):
                self.assertEqual(Registry.search_count([], limit=limit), min(limit, total), (user.login, limit))
        # The union itself, for the strict rule's two alternatives: a document that is both the
        # salesperson's own and his customer's is counted once.
        Registry = self.env["sales.document"].with_context(active_test=False)
        strict = ["|", ("user_id", "=", self.salesman.id), ("partner_user_id", "=", self.salesman.id)]
        both = Registry.search_count([("user_id", "=", self.salesman.id), ("partner_user_id", "=", self.salesman.id)])
        self.assertTrue(both)
        total = Registry.search_count(strict)
        for limit in (1, total - 1, total, total + 3):
            query = Registry._union_of_branches([("doc_type", "!=", "payment")], strict, 0, limit, None)
            expected = Registry.search_count([("doc_type", "!=", "payment"), *strict])
            self.assertEqual(len(query), min(limit, expected), limit)
            self.assertEqual(len(Registry._union_of_branches([], strict, 0, limit, None)), min(limit, total), limit)
        self.assertIsNone(Registry._union_of_branches([("partner_id", "=", self.customer.id)], strict, 0, 5, None))
        # An alternative that no covering index answers would be a scan of the table each.
        unindexed = ["|", ("user_id", "=", self.salesman.id), ("name", "ilike", "S0")]
        self.assertIsNone(Registry._union_of_branches([], unindexed, 0, 5, None))
        everyone = ["|", ("user_id", "=", False), ("res_model", "in", ["stock.picking", "account.payment"])]
        total = Registry.search_count(everyone)
        self.assertTrue(total)
        for limit in (1, total, total + 1):
            self.assertEqual(len(Registry._union_of_branches([], everyone, 0, limit, None)), min(limit, total), limit)
        self.assertIsNone(Registry._union_of_branches([], strict, 0, 5, "date desc"))
        # The same pages either way, with a filter, in one company and the other.
        Registry = self.env["sales.document"].with_user(self.salesman).with_context(active_test=False)
        for domain in ([], [("doc_type", "in", ["order", "delivery"])], [("partner_id", "=", self.customer.id)]):
            everything = Registry.search(domain).ids
            self.assertTrue(everything, domain)
            for offset in range(0, len(everything) + 1, 3):
                self.assertEqual(
                    Registry.search(domain, offset=offset, limit=3).ids, everything[offset:offset + 3], (domain, offset)
                )

    def test_one_tags_documents_are_read_from_its_links(self):
        """A page and a bounded count of one tag's or one product's documents come from the
        link table's index, the same rows as through the registry rows, as the links follow
        the documents' salesperson, date, archiving and removal."""
        tag = self.env["crm.tag"].create({"name": "Links (test)"})
        own_order, own_invoice, _payment = self.own_flow
        tagged_documents = (own_order, own_invoice, self.other_flow[0], self.unassigned, self.order_b)
        for document in tagged_documents:
            document.tag_ids = [Command.link(tag.id)]
        self.env.flush_all()

        def linked(user, *args, **kwargs):
            code = self.env["sales.document"].with_user(user)._search(*args, **kwargs).select().code
            return registry_store.TAG_TABLE in code or registry_store.PRODUCT_TABLE in code

        one_tag = [("tag_ids", "in", [tag.id])]
        for user in (self.salesman, self.sales_manager, self.accountant, self.env.user):
            self.assertTrue(linked(user, one_tag, limit=4, order="date desc, id desc"), user.login)
            self.assertTrue(linked(user, one_tag, limit=1000), user.login)
            self.assertTrue(linked(user, [("product_id", "=", self.product.id)], limit=4), user.login)
        # Not without a limit, in another order, for two tags, or with a filter the links do not hold.
        self.assertFalse(linked(self.salesman, one_tag))
        self.assertFalse(linked(self.salesman, one_tag, limit=4, order="name"))
        self.assertFalse(linked(self.salesman, [("tag_ids", "in", [tag.id, tag.id + 1])], limit=4))
        self.assertFalse(linked(self.salesman, [*one_tag, ("partner_id", "=", self.customer.id)], limit=4))
        # The same domain with a condition on a column the links repeat still reads them.
        self.assertTrue(linked(self.salesman, [*one_tag, ("user_id", "!=", False)], limit=4))
        # A bounded count of one tag's documents under several rule alternatives is the union of
        # each alternative's first links (a page is not; nor are a product's links).
        for user in (self.salesman, self.sales_manager, self.accountant):
            Registry = self.env["sales.document"].with_user(user)
            several = len(registry_access.branches(Registry._document_access_domain())) > 1
            self.assertEqual(" UNION (" in Registry._search(one_tag, limit=1000).select().code, several, user.login)
            self.assertNotIn(" UNION (", Registry._search(one_tag, limit=4, order="date desc, id desc").select().code)
            product = [("product_id", "=", self.product.id)]
            self.assertNotIn(" UNION (", Registry._search(product, limit=1000).select().code)

        def assert_same_as_rows(label):
            for user in (self.salesman, self.salesman_2, self.sales_manager, self.accountant, self.multi_manager):
                Registry = self.env["sales.document"].with_user(user)
                for domain in (one_tag, [("product_id", "=", self.product.id)], [*one_tag, ("user_id", "=", False)]):
                    everything = Registry.search(domain).ids
                    for offset in range(0, len(everything) + 1, 2):
                        self.assertEqual(Registry.search(domain, offset=offset, limit=2).ids,
                                         everything[offset:offset + 2], (label, user.login, domain, offset))
                    for limit in (1, 3, 100):
                        self.assertEqual(Registry.search_count(domain, limit=limit), min(limit, len(everything)),
                                         (label, user.login, domain, limit))
            self.assertFalse(any(self.env["sales.document"]._store_differences().values()), label)

        assert_same_as_rows("tagged")
        salesman_rows = self.env["sales.document"].with_user(self.salesman).search(one_tag)
        self.assertIn(self._registry_rows(own_order), salesman_rows)
        self.assertNotIn(self._registry_rows(self.other_flow[0]), salesman_rows)
        # The salesperson of an order, then of its customer, changes: so do its links, and
        # who sees it through them.
        other_order = self.other_flow[0]

        def seen_by_salesman():
            rows = self.env["sales.document"].with_user(self.salesman).search(one_tag, limit=10)
            return self._registry_rows(other_order) in rows

        other_order.user_id = self.salesman
        self.env.flush_all()
        self.assertTrue(seen_by_salesman())
        assert_same_as_rows("salesperson changed")
        other_order.user_id = self.salesman_2
        self.env.flush_all()
        self.assertFalse(seen_by_salesman())
        self.other_customer.user_id = self.salesman
        self.env.flush_all()
        self.assertTrue(seen_by_salesman())
        assert_same_as_rows("customer's salesperson changed")
        # A date that puts a document first; an archived order; a removed one.
        self.unassigned.date_order = fields.Datetime.to_datetime("2100-01-01 10:00:00")
        self.env.flush_all()
        self.assertEqual(
            self.env["sales.document"].with_user(self.salesman).search(one_tag, limit=1),
            self._registry_rows(self.unassigned),
        )
        assert_same_as_rows("dated")
        self.order_b.action_archive()
        self.env.flush_all()
        assert_same_as_rows("archived")
        removed = self._registry_rows(self.unassigned).id
        self.unassigned.unlink()
        self.env.flush_all()
        self.assertNotIn(removed, self.env["sales.document"].search(one_tag, limit=10).ids)
        assert_same_as_rows("removed")
        # The verification sees a link that no longer repeats its row.
        self.env.cr.execute(SQL(
            "UPDATE %s SET user_id = %s WHERE tag_id = %s AND document_id = %s",
            SQL.identifier(registry_store.TAG_TABLE), self.accountant.id, tag.id,
            self._registry_rows(other_order).id,
        ))
        self.assertEqual(self.env["sales.document"]._store_differences()["tags"], 1)

    def test_customer_salesperson_is_kept_exact(self):
        """A change of a customer's salesperson reaches their registry rows at once."""
        rows = self.env["sales.document"].search([("partner_id", "=", self.customer.id)])
        self.assertTrue(rows)
        self.assertEqual(set(rows.mapped("partner_user_id")), {self.salesman})
        self.customer.user_id = self.salesman_2
        self.env.flush_all()
        rows.invalidate_recordset()
        self.assertEqual(set(rows.mapped("partner_user_id")), {self.salesman_2})
        self.customer.user_id = False
        self.env.flush_all()
        rows.invalidate_recordset()
        self.assertFalse(rows.mapped("partner_user_id"))
        # An order moved to another customer takes that customer's salesperson.
        self.unassigned.partner_id = self.customer
        self.env.flush_all()
        self.assertFalse(self._registry_rows(self.unassigned).partner_user_id)
        self.unassigned.partner_id = self.other_customer
        self.env.flush_all()
        self.env.invalidate_all()
        self.assertEqual(self._registry_rows(self.unassigned).partner_user_id, self.salesman_2)
        self.assertFalse(any(self.env["sales.document"]._store_differences().values()))

    def test_a_rule_the_row_cannot_answer_falls_back(self):
        """A custom rule on a field the registry does not hold: the sub-query, still exact."""
        self.env["ir.rule"].create({
            "name": "Orders: not the hidden ones (test)",
            "model_id": self.env.ref("sale.model_sale_order").id,
            "domain_force": "[('client_order_ref', '!=', 'HIDDEN')]",
        })
        self.customer_flow[0].client_order_ref = "HIDDEN"
        self.assertIn("res_id", self._access_parts(self.salesman))
        mine = self.assertRegistryMatchesModels(self.salesman)
        self.assertNotIn(self._registry_rows(self.customer_flow[0]), mine)
        self.assertIn(self._registry_rows(self.own_flow[0]), mine)
        self.assertRegistryMatchesModels(self.sales_manager)

    def test_access_domain_is_a_plain_domain(self):
        """The access domain reads over RPC too (no recordsets), and the superuser gets none."""
        self.assertEqual(self.env["sales.document"].sudo()._document_access_domain(), [])
        domain = self.env["sales.document"].with_user(self.salesman)._document_access_domain()
        self.assertTrue(expression.is_leaf(domain[-1]))


@tagged("post_install", "-at_install")
class TestCustomerSalespersonConcurrency(SalesDocumentCase):
    """A customer's new salesperson and a concurrent write of their document: no stale row."""

    def _row_partner_user(self, order_id):
        with self._committed() as env:
            env.cr.execute(SQL(
                "SELECT partner_user_id FROM sales_document_row WHERE res_model = 'sale.order' AND res_id = %s",
                order_id,
            ))
            return env.cr.fetchone()[0]

    def _in_thread(self, statement):
        """Run ``statement`` in a transaction of its own in a thread, retried on
        the concurrency errors Odoo retries; return (thread, errors, failures)."""
        errors, failures = [], []

        def worker():
            for _attempt in range(20):
                try:
                    with self.registry.cursor() as cr:
                        cr.execute(SQL("SET LOCAL lock_timeout = '30s'"))
                        cr.execute(statement)
                        cr.commit()  # pylint: disable=invalid-commit
                    return
                except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as error:
                    failures.append(type(error).__name__)
                    time.sleep(0.5)
                except Exception:  # reported by the test
                    errors.append(traceback.format_exc())
                    return
            errors.append("never succeeded")

        thread = threading.Thread(target=worker)
        thread.start()
        return thread, errors, failures

    def _race_data(self):
        """(seller_a, seller_b, customer_id, order_id): a committed order of
        another customer, both customers followed by seller_a; removed at the end."""
        with self._committed() as env:
            # Committed users (the test's own are not): the superuser and the administrator.
            seller_a, seller_b = SUPERUSER_ID, env.ref("base.user_admin").id
            customer = env["res.partner"].create({"name": "Race Customer", "is_company": True, "user_id": seller_a})
            other = env["res.partner"].create({"name": "Race Other", "is_company": True, "user_id": seller_a})
            order_id = env["sale.order"].create({"partner_id": other.id}).id
            customer_id, other_id = customer.id, other.id

        def remove(env):
            env.cr.execute(SQL("DELETE FROM sale_order WHERE id = %s", order_id))
            env["res.partner"].browse([customer_id, other_id]).unlink()

        self._cleanup_committed(remove)
        return seller_a, seller_b, customer_id, order_id

    def _resync(self):
        """The job a change of salesperson through Odoo runs once it commits."""
        with self._committed() as env:
            env["sales.document"]._cron_resync_partner_users()

    def test_document_committed_inside_the_change_window(self):
        # The change's snapshot is taken, then the document moves to the
        # customer and commits, then the change runs: its lock is free, and
        # its snapshot does not hold the document.
        seller_a, seller_b, customer_id, order_id = self._race_data()
        with self.registry.cursor() as change_cr:
            change_cr.execute(SQL("SELECT 1"))
            with self.registry.cursor() as document_cr:
                document_cr.execute(SQL(
                    "UPDATE sale_order SET partner_id = %(p)s, commercial_partner_id = %(p)s WHERE id = %(o)s",
                    p=customer_id, o=order_id,
                ))
            change_cr.execute(SQL("UPDATE res_partner SET user_id = %s WHERE id = %s", seller_b, customer_id))
        # The change could not set that row; it queued the customer for the job.
        self.assertEqual(self._row_partner_user(order_id), seller_a)
        self._resync()
        self.assertEqual(self._row_partner_user(order_id), seller_b)
        with self._committed() as env:
            self.assertFalse(any(env["sales.document"]._store_differences().values()))
            env.cr.execute(SQL("SELECT count(*) FROM %s", SQL.identifier(registry_store.RESYNC_TABLE)))
            self.assertEqual(env.cr.fetchone()[0], 0, "the job empties the queue")

    def test_job_gives_way_to_a_concurrent_document_write(self):
        seller_a, seller_b, customer_id, order_id = self._race_data()
        rows, queue = SQL.identifier(registry_store.ROW_TABLE), SQL.identifier(registry_store.RESYNC_TABLE)
        with self._committed() as env:
            env.cr.execute(SQL(
                "UPDATE sale_order SET partner_id = %(p)s, commercial_partner_id = %(p)s WHERE id = %(o)s",
                p=customer_id, o=order_id,
            ))
            env.cr.execute(SQL("UPDATE res_partner SET user_id = %s WHERE id = %s", seller_b, customer_id))
            # As a row the change could not see: the old salesperson, the customer queued.
            env.cr.execute(SQL(
                "UPDATE %s SET partner_user_id = %s WHERE res_model = 'sale.order' AND res_id = %s",
                rows, seller_a, order_id,
            ))
            env.cr.execute(SQL("INSERT INTO %s (partner_id) VALUES (%s) ON CONFLICT DO NOTHING", queue, customer_id))
        cron = self.env.ref("sales_document_registry.ir_cron_sales_document_resync_partner_users")
        with self.registry.cursor() as job_cr:
            job_cr.execute(SQL("SELECT 1"))
            # The document is written (and its row set) after the job's snapshot.
            with self.registry.cursor() as document_cr:
                document_cr.execute(SQL("UPDATE sale_order SET amount_total = amount_total + 1 WHERE id = %s", order_id))
            job_env = self.env(cr=job_cr, su=True)
            self.assertEqual(job_env["sales.document"]._cron_resync_partner_users(), 0)
            job_env.cr.execute(SQL("SELECT partner_id FROM %s", queue))
            self.assertEqual(job_env.cr.fetchall(), [(customer_id,)], "the customer stays queued")
            retry = job_env["ir.cron.trigger"].search([("cron_id", "=", cron.id)], order="id desc", limit=1)
            self.assertGreater(retry.call_at, fields.Datetime.now())
            job_env.flush_all()
        self._cleanup_committed(lambda env: env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]).unlink())
        self.assertEqual(self._row_partner_user(order_id), seller_b)
        self._resync()
        with self._committed() as env:
            env.cr.execute(SQL("SELECT count(*) FROM %s", queue))
            self.assertEqual(env.cr.fetchone()[0], 0)
            self.assertFalse(any(env["sales.document"]._store_differences().values()))

    def test_change_through_odoo_schedules_the_job(self):
        customer = self.env["res.partner"].create({"name": "Job Customer", "is_company": True})
        cron = self.env.ref("sales_document_registry.ir_cron_sales_document_resync_partner_users")
        Trigger = self.env["ir.cron.trigger"].sudo()
        triggers = Trigger.search([("cron_id", "=", cron.id)])
        customer.write({"name": "Job Customer (renamed)"})
        self.assertFalse(Trigger.search([("cron_id", "=", cron.id)]) - triggers)
        customer.write({"user_id": self.env.user.id})
        self.assertTrue(Trigger.search([("cron_id", "=", cron.id)]) - triggers)

    def test_no_stale_customer_salesperson_under_concurrency(self):
        seller_a, seller_b, customer_id, order_id = self._race_data()

        # 1. The document moves to the customer (not committed yet) while the
        # customer's salesperson changes: the change waits, then sees the row.
        with self.registry.cursor() as cr:
            cr.execute(SQL(
                "UPDATE sale_order SET partner_id = %(p)s, commercial_partner_id = %(p)s WHERE id = %(o)s",
                p=customer_id, o=order_id,
            ))
            thread, errors, failures = self._in_thread(
                SQL("UPDATE res_partner SET user_id = %s WHERE id = %s", seller_b, customer_id)
            )
            thread.join(timeout=2)
            # Refused (and retried) while the document's transaction runs.
            self.assertTrue(failures)
            cr.commit()  # pylint: disable=invalid-commit
        thread.join(timeout=60)
        self.assertFalse(errors, errors)
        self.assertFalse(thread.is_alive())
        # Exact at once, or (when the document committed between the change's
        # snapshot and its lock) once the job has run.
        self._resync()
        self.assertEqual(self._row_partner_user(order_id), seller_b)

        # 2. The customer's salesperson changes (not committed yet) while the
        # document is written: the document waits, then reads the new salesperson.
        with self.registry.cursor() as cr:
            cr.execute(SQL("UPDATE res_partner SET user_id = %s WHERE id = %s", seller_a, customer_id))
            thread, errors, failures = self._in_thread(
                SQL("UPDATE sale_order SET amount_total = amount_total + 1 WHERE id = %s", order_id)
            )
            thread.join(timeout=2)
            self.assertTrue(thread.is_alive(), "the document waits for the salesperson change")
            cr.commit()  # pylint: disable=invalid-commit
        thread.join(timeout=60)
        self.assertFalse(errors, errors)
        # It read the customer before the change committed: refused once, then retried.
        self.assertTrue(failures)
        self.assertEqual(self._row_partner_user(order_id), seller_a)
        with self._committed() as env:
            self.assertFalse(any(env["sales.document"]._store_differences().values()))
