import base64
import json

from odoo.osv import expression
from odoo.tests import tagged

from .common import InsightCase


@tagged("post_install", "-at_install")
class TestDashboard(InsightCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dashboard = cls.env.ref("sales_document_insight.spreadsheet_dashboard_sales_documents")
        cls.data = json.loads(base64.b64decode(cls.dashboard.spreadsheet_binary_data))

    def _check_chain(self, model, chain):
        Model = self.env[model]
        for name in chain.split("."):
            self.assertIn(name, Model._fields, f"{model}: {chain}")
            field = Model._fields[name]
            Model = self.env[field.comodel_name] if field.relational else Model

    def test_every_pivot_and_list_reads(self):
        self._confirmed_order()
        self.env.flush_all()
        filters = {f["id"]: f for f in self.data["globalFilters"]}
        self.assertEqual({f["label"] for f in filters.values()}, {"Period", "Sales Team", "Salesperson"})
        manager = self.sales_manager
        self.assertTrue(self.data["pivots"])
        for pivot in self.data["pivots"].values():
            Model = self.env[pivot["model"]].with_user(manager)
            measures = [m["fieldName"] for m in pivot["measures"]]
            rows = [r["fieldName"] for r in pivot["rows"]]
            for name in measures + rows:
                if name != "__count":
                    self.assertIn(name, Model._fields, f"{pivot['name']}: {name}")
            for filter_id, matching in pivot["fieldMatching"].items():
                self.assertIn(filter_id, filters)
                self._check_chain(pivot["model"], matching["chain"])
            aggregates = ["__count" if m == "__count" else f"{m}:{Model._fields[m].aggregator}" for m in measures]
            groups = Model._read_group(pivot["domain"], rows, aggregates)
            # Drill-down: the records behind a cell are the group's records.
            for group in groups[:2]:
                value = group[0]
                cell_domain = expression.AND([pivot["domain"], [(rows[0], "=", getattr(value, "id", value))]])
                records = Model.search(cell_domain)
                if "__count" in measures:
                    self.assertEqual(len(records), group[1 + measures.index("__count")], pivot["name"])
        for listing in self.data["lists"].values():
            Model = self.env[listing["model"]].with_user(manager)
            for name in listing["columns"]:
                self.assertIn(name, Model._fields)
            Model.search_read(listing["domain"], listing["columns"], limit=10)

    def test_pipeline_pivot_shows_the_registry(self):
        order = self._confirmed_order()
        self.env.flush_all()
        pivot = next(p for p in self.data["pivots"].values() if p["model"] == "sales.document")
        groups = dict(self.env["sales.document"].with_user(self.sales_manager)._read_group(
            pivot["domain"], ["doc_type"], ["amount_total:sum"]))
        self.assertGreaterEqual(groups["order"], order.amount_total)

    def test_only_managers_see_the_dashboard(self):
        Dashboard = self.env["spreadsheet.dashboard"]
        self.assertIn(self.dashboard, Dashboard.with_user(self.sales_manager).search([]))
        self.assertNotIn(self.dashboard, Dashboard.with_user(self.salesman).search([]))
