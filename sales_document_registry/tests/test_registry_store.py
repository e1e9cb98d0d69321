import json
from contextlib import contextmanager
from unittest.mock import patch

from lxml import etree

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

from .common import CommittedDataMixin, SalesDocumentCase

# The test that says whether a page is read where it is found.
WHOLE_ROWS = "odoo.addons.sales_document_registry.models.sales_document._whole_rows_of"
NO_DIFFERENCE = {"rows": 0, "tags": 0, "products": 0, "summary": 0}


@tagged("post_install", "-at_install")
class TestRegistryStore(SalesDocumentCase):
    """The registry table is kept exact by triggers, whatever writes the documents."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tag = cls.env["crm.tag"].create({"name": "Store tag"})

    def _store_row(self, record):
        self.env.flush_all()
        self.env.cr.execute(SQL(
            "SELECT name, partner_id, state, amount_total FROM sales_document_row WHERE res_model = %s AND res_id = %s",
            record._name, record.id,
        ))
        return self.env.cr.fetchone()

    def test_store_follows_the_whole_flow(self):
        """Every step of order to cash, a return and a credit note leave the store equal to the documents."""
        order, invoice, payment = self._full_flow(
            lines=[(self.product, 3.0), (self.product_2, 1.0)], tag_ids=[Command.set(self.tag.ids)]
        )
        self.assertEqual(self.env["sales.document"]._store_differences(), NO_DIFFERENCE)
        delivery = order.picking_ids
        wizard = self.env["stock.return.picking"].with_context(
            active_id=delivery.id, active_model="stock.picking"
        ).create({})
        wizard.product_return_moves.quantity = 1.0
        returned = self.env["stock.picking"].browse(wizard.action_create_returns()["res_id"])
        self.assertTrue(self._store_row(returned))
        refund = self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({"journal_id": invoice.journal_id.id, "reason": "store"}).refund_moves()
        self.assertEqual(self.env["sales.document"]._store_differences(), NO_DIFFERENCE)
        rows = self.env["sales.document"].search([("sale_order_id", "=", order.id)])
        self.assertIn("credit_note", rows.mapped("doc_type"))
        self.assertTrue(refund)
        tagged_models = set(self.env["sales.document"].search([("tag_ids", "in", self.tag.ids)]).mapped("res_model"))
        self.assertEqual(tagged_models, {"sale.order", "stock.picking", "account.move", "account.payment"})
        self.assertEqual(payment.tag_ids, self.tag)

    def test_line_and_tag_changes_reach_the_store(self):
        """Changing a line's product, removing a line or a tag updates the searchable products and tags."""
        order = self._create_order(lines=[(self.product, 1.0), (self.product_2, 1.0)])
        Registry = self.env["sales.document"]
        self.env.flush_all()
        self.assertIn(order.id, Registry.search([("product_id", "=", self.product_2.id)]).mapped("res_id"))
        order.order_line.filtered(lambda line: line.product_id == self.product_2).unlink()
        self.env.flush_all()
        self.assertNotIn(order.id, Registry.search([("product_id", "=", self.product_2.id)]).mapped("res_id"))
        order.order_line.product_id = self.product_2
        order.tag_ids = [Command.set(self.tag.ids)]
        self.env.flush_all()
        self.assertNotIn(order.id, Registry.search([("product_id", "=", self.product.id)]).mapped("res_id"))
        self.assertIn(order.id, Registry.search([("tag_ids", "in", self.tag.ids)]).mapped("res_id"))
        order.tag_ids = [Command.clear()]
        order.partner_id = self.other_customer
        self.assertEqual(self._store_row(order)[1], self.other_customer.id)
        self.assertNotIn(order.id, Registry.search([("tag_ids", "in", self.tag.ids)]).mapped("res_id"))
        self.assertEqual(Registry._store_differences(), NO_DIFFERENCE)

    def test_raw_sql_and_deletion_reach_the_store(self):
        """Writes that bypass the ORM and real deletions are seen too (triggers, not ORM hooks)."""
        order = self._create_order()
        self.env.flush_all()
        self.env.cr.execute(SQL("UPDATE sale_order SET name = %s WHERE id = %s", "SQL-RENAMED", order.id))
        self.assertEqual(self._store_row(order)[0], "SQL-RENAMED")
        # A bulk insert of one statement, as an import or a data migration does.
        self.env.cr.execute(SQL(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'sale_order' "
            "AND column_name NOT IN ('id', 'name', 'amount_total')"
        ))
        copied = SQL(", ").join(SQL.identifier(row[0]) for row in self.env.cr.fetchall())
        self.env.cr.execute(SQL(
            """INSERT INTO sale_order (name, amount_total, %(copied)s)
               SELECT 'BULK-' || n, n, %(copied)s FROM sale_order, generate_series(1, 5) n WHERE id = %(id)s""",
            copied=copied, id=order.id,
        ))
        self.assertEqual(self.env["sales.document"].search_count([("name", "=like", "BULK-%")]), 5)
        self.env.cr.execute(SQL("DELETE FROM sale_order WHERE name LIKE 'BULK-%%'"))
        self.assertEqual(self.env["sales.document"].search_count([("name", "=like", "BULK-%")]), 0)
        self.assertEqual(self.env["sales.document"]._store_differences(), NO_DIFFERENCE)

    def test_rebuild_repairs_writes_that_skipped_the_triggers(self):
        """A bulk load with triggers off leaves the store stale; the rebuild finds and repairs it."""
        order = self._create_order()
        self.env.flush_all()
        self.env.cr.execute(SQL("SET LOCAL session_replication_role = replica"))
        self.env.cr.execute(SQL("UPDATE sale_order SET amount_total = 12345 WHERE id = %s", order.id))
        self.env.cr.execute(SQL("SET LOCAL session_replication_role = DEFAULT"))
        self.assertEqual(self._store_row(order)[3], order.amount_total)
        found = self.env["sales.document"]._rebuild_store()
        self.assertGreater(found["rows"], 0)
        self.assertEqual(float(self._store_row(order)[3]), 12345.0)
        self.assertEqual(self.env["sales.document"]._store_differences(), NO_DIFFERENCE)

    def test_verify_action_repairs_and_reports(self):
        """The Settings button says the registry is exact, or repairs it and says what differed."""
        order = self._create_order()
        self.env.flush_all()
        settings = self.env["res.config.settings"].create({})
        action = settings.action_verify_sales_document_store()
        self.assertEqual(action["params"]["type"], "success")
        self.env.cr.execute(SQL("DELETE FROM sales_document_row WHERE res_model = 'sale.order' AND res_id = %s",
                                order.id))
        action = settings.action_verify_sales_document_store()
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("1", action["params"]["message"])
        self.assertTrue(self._store_row(order))
        self.assertEqual(self.env["sales.document"]._store_differences(), NO_DIFFERENCE)
        with self.assertRaises(AccessError):
            settings.with_user(self.sales_manager).action_verify_sales_document_store()

    def test_the_list_shows_the_order_number_without_reading_the_orders(self):
        """Each row shows its order's number, a rename included; the list as the web client
        reads it never reads the order table, and a query not showing the number never joins."""
        order, _invoice, _payment = self._full_flow()
        self.env.flush_all()
        Registry = self.env["sales.document"]
        rows = Registry.search([("sale_order_id", "=", order.id)])
        self.assertEqual(set(rows.mapped("doc_type")), {"order", "delivery", "invoice", "payment"})
        self.assertEqual(set(rows.mapped("sale_order_name")), {order.name})
        self.env.cr.execute(SQL("UPDATE sale_order SET name = %s WHERE id = %s", "RENAMED-ORDER", order.id))
        Registry.invalidate_model()
        self.assertEqual(set(rows.mapped("sale_order_name")), {"RENAMED-ORDER"})
        order.invalidate_recordset()

        specification = self._list_specification()
        self.assertIn("sale_order_name", specification)
        manager_registry = Registry.with_user(self.sales_manager)
        with self._recording() as statements:
            result = manager_registry.web_search_read([("partner_id", "=", self.customer.id)], specification)
        shown = {record["id"]: record["sale_order_name"] for record in result["records"]}
        self.assertEqual({shown[row_id] for row_id in rows.ids}, {"RENAMED-ORDER"})
        self.assertTrue(statements)
        self.assertFalse([statement for statement in statements if '"sale_order"' in statement])

        # A count of one customer's rows reads the covering index alone, through the view as
        # on the table (an index path, whatever the table's size; a dropped join would still
        # make it read the rows).
        self._index_paths_only()
        for table in ("sales_document_row", "sales_document"):
            counted = self._plan(SQL("SELECT count(*) FROM %s WHERE partner_id = %s", SQL.identifier(table), self.customer.id))
            self.assertIn('"Node Type": "Index Only Scan"', counted, table)
            self.assertEqual(counted.count('"Relation Name": "sales_document_row"'), 1, table)
        shown = self._plan(SQL("SELECT sale_order_name FROM sales_document WHERE id = ANY(%s)", rows.ids))
        self.assertEqual(shown.count('"Relation Name": "sales_document_row"'), 2)

    def test_one_customers_page_is_read_from_the_customers_index(self):
        """A page of one customer's documents, every column the list shows, is read in the
        statement that finds it, from the customer's index alone, under each role's rules;
        it holds the same rows and values as the page read by id."""
        # The other customer is the second salesperson's: the first sees his own order's rows.
        self._full_flow(partner_id=self.other_customer.id, tag_ids=[Command.set(self.tag.ids)])
        self._full_flow(partner_id=self.other_customer.id, user_id=self.salesman_2.id)
        self.env.flush_all()
        specification = self._list_specification()
        domain = [("partner_id", "=", self.other_customer.id)]
        pages = {}
        for user in (self.salesman, self.sales_manager):
            Registry = self.env["sales.document"].with_user(user)
            with self._recording() as statements:
                result = Registry.web_search_read(domain, specification, limit=80)
            with patch(WHOLE_ROWS, return_value=False):
                by_id = Registry.web_search_read(domain, specification, limit=80)
            self.assertEqual(result, by_id, user.login)
            pages[user] = {record["id"] for record in result["records"]}
            # One statement reads the rows, found and read at once ...
            reads = [statement for statement in statements if '"sales_document"."doc_type"' in statement]
            self.assertEqual(len(reads), 1, user.login)
            self.assertNotIn('"sales_document"."id" IN', reads[0], user.login)
            # ... from the customer's index, and the table only for the order's number.
            self._index_paths_only()
            read_plan = self._plan(SQL(reads[0].replace("%", "%%")))
            scans = self._row_scans(json.loads(read_plan))
            # The view's rows are ``r``; ``o`` is the order's row, for its number.
            self.assertEqual(sorted(scans), ["o", "r"], user.login)
            self.assertEqual(
                scans["r"], ("Index Only Scan", "sales_document_row_partner_rows_idx"), user.login
            )
            # The access check of the rows read (``read``) looks in the same index.
            checks = [statement for statement in statements if '"sales_document"."id" IN' in statement]
            self.assertEqual(len(checks), 1, user.login)
            self.assertIn('"sales_document"."partner_id" =', checks[0], user.login)
            checked = self._row_scans(json.loads(self._plan(SQL(checks[0].replace("%", "%%")))))
            self.assertEqual(checked, {"r": ("Index Only Scan", "sales_document_row_partner_rows_idx")}, user.login)
            self.env.cr.execute(SQL("RESET enable_seqscan; RESET enable_bitmapscan"))
        # The rules were applied in that statement: the salesperson does not see the other
        # salesperson's order and invoice.
        self.assertLess(pages[self.salesman], pages[self.sales_manager])
        # A page with a condition the customer's index cannot answer is found by id first.
        Registry = self.env["sales.document"].with_user(self.sales_manager)
        with self._recording() as statements:
            Registry.web_search_read([*domain, ("tag_ids", "in", self.tag.ids)], specification, limit=80)
        self.assertTrue([statement for statement in statements if '"sales_document"."id" IN' in statement])

    def _list_specification(self):
        """The specification the web client sends for the list view's fields."""
        Registry = self.env["sales.document"]
        arch = etree.fromstring(Registry.get_views([(False, "list")])["views"]["list"]["arch"])
        return {
            node.get("name"): {"fields": {"display_name": {}}}
            if Registry._fields[node.get("name")].type in ("many2one", "many2many") else {}
            for node in arch.iterchildren("field")
        }

    @contextmanager
    def _recording(self):
        """The statements the test cursor runs in the block, parameters bound."""
        statements = []
        cursor = self.env.cr
        execute = type(cursor).execute

        def recording(query, params=None, log_exceptions=True):
            result = execute(cursor, query, params, log_exceptions)
            statements.append(cursor._obj.query.decode())
            return result

        with patch.object(cursor, "execute", recording):
            yield statements

    def _index_paths_only(self):
        """Plans by index whatever the tables' size (a test database holds a few rows)."""
        self.env.cr.execute(SQL("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off"))

    def _row_scans(self, plan):
        """``alias -> (node type, index)`` of the plan's scans of the row table."""
        scans, nodes = {}, [node["Plan"] for node in plan]
        while nodes:
            node = nodes.pop()
            if node.get("Relation Name") == "sales_document_row":
                scans[node["Alias"]] = (node["Node Type"], node.get("Index Name"))
            nodes.extend(node.get("Plans", ()))
        return scans

    def _plan(self, query):
        self.env.cr.execute(SQL("EXPLAIN (FORMAT JSON) %s", query))
        return json.dumps(self.env.cr.fetchone()[0])

    def test_non_sales_documents_stay_out(self):
        """A vendor bill and a delivery without an order are not registry rows."""
        bill = self.env["account.move"].create({
            "move_type": "in_invoice",
            "partner_id": self.customer.id,
            "invoice_date": "2026-01-01",
            "invoice_line_ids": [Command.create({"product_id": self.product.id, "price_unit": 10})],
        })
        self.assertIsNone(self._store_row(bill))
        order = self._create_order()
        order.action_confirm()
        picking = order.picking_ids
        self.assertTrue(self._store_row(picking))
        # Unlinking the picking from its order takes it out of the registry.
        self.env.cr.execute(SQL("UPDATE stock_picking SET sale_id = NULL WHERE id = %s", picking.id))
        self.assertIsNone(self._store_row(picking))
        self.assertEqual(self.env["sales.document"]._store_differences(), NO_DIFFERENCE)

    def _both_ways(self, Registry, groupby, aggregates, domain=()):
        """The pivot answered by the roll-up, and the same pivot computed from every row."""
        fast = Registry._read_group(list(domain), groupby, aggregates)
        # A condition on the id is finer than the roll-up: every row is read.
        slow = Registry._read_group([*domain, ("id", "!=", 0)], groupby, aggregates)
        return sorted(fast, key=repr), sorted(slow, key=repr)

    def test_summary_answers_whole_registry_pivots(self):
        """Pivots by state, type, month and salesperson from the roll-up equal the row-by-row result."""
        Registry = self.env["sales.document"]
        cancelled_before = Registry.search_count([("state", "=", "cancelled")])
        self._full_flow()
        self._full_flow(lines=[(self.product_2, 2.0)], user_id=self.salesman_2.id)
        cancelled = self._create_order()
        cancelled.action_cancel()
        self.env.flush_all()
        self.assertIsNotNone(Registry._summary_read_group([], ["state"], ["__count"], (), 0, None, None))
        self.assertIsNone(Registry._summary_read_group([("id", ">", 0)], ["state"], ["__count"], (), 0, None, None))
        period = [("date", ">=", "2026-01-01"), ("date", "<=", "2026-03-31")]
        self.assertIsNotNone(Registry._summary_read_group(period, ["state"], ["__count"], (), 0, None, None))
        # Part of a month is finer than the roll-up: every row is read.
        for part in ([("date", ">=", "2026-01-02")], [("date", "<=", "2026-01-30")]):
            self.assertIsNone(Registry._summary_read_group(part, ["state"], ["__count"], (), 0, None, None))
        for groupby, aggregates, domain in (
            (["state"], ["__count"], []),
            (["doc_type", "date:month"], ["__count", "amount_total:sum"], []),
            (["user_id"], ["amount_total:sum", "__count"], [("doc_type", "in", ["invoice", "payment"])]),
            (["date:year", "team_id"], ["__count"], [("date", ">=", "2020-01-01")]),
            (["state"], ["__count"], [("date", ">=", "2026-01-01"), ("date", "<=", "2026-12-31")]),
            (["state"], ["__count"], [("date", ">", "2025-12-31"), ("date", "<", "2027-01-01")]),
            ([], ["__count", "amount_total:sum"], []),
        ):
            fast, slow = self._both_ways(Registry, groupby, aggregates, domain)
            self.assertEqual(fast, slow, (groupby, aggregates, domain))
        # The public pivot call (what the web client sends) agrees too.
        counts = {g["state"]: g["__count"] for g in Registry.read_group([], ["__count"], ["state"], lazy=False)}
        for lazy in (True, False):
            monthly = [
                [(g["date:month"], g.get("__count", g.get("date_count")), g["amount_total"]) for g in groups]
                for groups in (
                    Registry.read_group(domain, ["amount_total:sum"], ["date:month", "doc_type"], lazy=lazy)
                    for domain in ([], [("id", "!=", 0)])
                )
            ]
            self.assertEqual(monthly[0], monthly[1])
            self.assertTrue(monthly[0][0][0])  # a month label, as the pivot shows it
        # Rows committed before this test (other tests, a kept database) count too: only one is ours.
        self.assertEqual(counts.get("cancelled", 0), cancelled_before + 1)
        self.assertEqual(sum(counts.values()), Registry.search_count([]))

    def test_summary_respects_access_and_compaction(self):
        """A salesperson's pivot counts only their documents; folding the deltas changes no result."""
        self._full_flow()
        theirs = self._create_order(user_id=self.salesman_2.id)
        theirs.action_confirm()
        theirs.partner_id = self.other_customer
        Registry = self.env["sales.document"]
        self.env.flush_all()
        mine = Registry.with_user(self.salesman)
        own_count = mine.search_count([])
        groups = mine.read_group([], ["__count"], ["doc_type"], lazy=False)
        self.assertEqual(sum(g["__count"] for g in groups), own_count)
        self.assertLess(own_count, Registry.search_count([]))
        before = Registry._read_group([], ["state", "doc_type"], ["__count", "amount_total:sum"])
        self.env.cr.execute(SQL("SELECT count(*) FROM sales_document_row_stat"))
        rows_before = self.env.cr.fetchone()[0]
        removed = self.env["sales.document.summary"]._cron_compact()
        self.assertGreater(removed, 0)
        self.env.cr.execute(SQL("SELECT count(*) FROM sales_document_row_stat"))
        self.assertEqual(self.env.cr.fetchone()[0], rows_before - removed)
        self.assertEqual(
            sorted(Registry._read_group([], ["state", "doc_type"], ["__count", "amount_total:sum"]), key=repr),
            sorted(before, key=repr),
        )
        self.assertEqual(Registry._store_differences(), NO_DIFFERENCE)


@tagged("post_install", "-at_install")
class TestRegistryStoreConcurrency(CommittedDataMixin, TransactionCase):
    """Two transactions writing documents of the same salesperson and month do not conflict."""

    def test_concurrent_writers_share_no_summary_row(self):
        with self._committed() as env:
            partner = env["res.partner"].create({"name": "Store concurrency customer"})
            orders = env["sale.order"].create([{"partner_id": partner.id}, {"partner_id": partner.id}])
            fixture = {"partner": partner.id, "orders": orders.ids}

        def remove(env):
            env.cr.execute(SQL("DELETE FROM sale_order WHERE id = ANY(%s)", fixture["orders"]))
            env.cr.execute(SQL("DELETE FROM res_partner WHERE id = %s", fixture["partner"]))

        self._cleanup_committed(remove)
        first, second = self.registry.cursor(), self.registry.cursor()
        try:
            for cr in (first, second):
                # A writer that had to wait for the other would fail here
                # instead of hanging the test.
                cr.execute("SET LOCAL lock_timeout = '3s'")
            # Same roll-up key (company, type, state, salesperson, month),
            # different documents, both transactions open at once.
            first.execute("UPDATE sale_order SET amount_total = 10 WHERE id = %s", (fixture["orders"][0],))
            second.execute("UPDATE sale_order SET amount_total = 20 WHERE id = %s", (fixture["orders"][1],))
            first.execute("UPDATE sale_order SET state = 'cancel' WHERE id = %s", (fixture["orders"][0],))
            second.execute("UPDATE sale_order SET state = 'cancel' WHERE id = %s", (fixture["orders"][1],))
            first.commit()
            second.commit()
        finally:
            first.close()
            second.close()
        with self._committed() as env:
            env.cr.execute(SQL(
                "SELECT state, amount_total FROM sales_document_row WHERE res_model = 'sale.order' "
                "AND res_id = ANY(%s) ORDER BY res_id",
                fixture["orders"],
            ))
            self.assertEqual([(state, float(amount)) for state, amount in env.cr.fetchall()],
                             [("cancelled", 10.0), ("cancelled", 20.0)])
            self.assertEqual(env["sales.document"]._store_differences(), NO_DIFFERENCE)
