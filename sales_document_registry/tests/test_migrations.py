"""The registry's migration scripts, run on the test database's cursor."""

import importlib.util
from pathlib import Path

from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def load_script(version, name):
    """The module of ``migrations/<version>/<name>.py`` (its file name is not importable)."""
    path = MIGRATIONS / version / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"sales_document_registry_migration_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@tagged("post_install", "-at_install")
class TestMigrations(TransactionCase):
    def _index_exists(self, name):
        self.env.cr.execute(SQL("SELECT to_regclass(%s)", name))
        return bool(self.env.cr.fetchone()[0])

    def test_18_0_1_1_0_drops_the_former_view_indexes(self):
        """The indexes the former registry view put on the document tables are gone after the upgrade,
        and the update itself no longer drops them."""
        script = load_script("18.0.1.1.0", "pre-migrate")
        self.assertTrue(script.OBSOLETE_INDEXES)
        self.env.cr.execute(SQL(
            "CREATE INDEX sale_order_sd_registry_id_idx ON sale_order ((id * 10 + 1)); "
            "CREATE INDEX stock_picking_sd_date_idx ON stock_picking (scheduled_date)"
        ))
        # What every update runs (init) keeps them: dropping history is the migration's job.
        self.env["sales.document"].init()
        self.assertTrue(self._index_exists("sale_order_sd_registry_id_idx"))
        script.migrate(self.env.cr, "18.0.1.0.0")
        self.assertFalse(self._index_exists("sale_order_sd_registry_id_idx"))
        self.assertFalse(self._index_exists("stock_picking_sd_date_idx"))
        # A fresh install runs no migration; a second run finds nothing to do.
        script.migrate(self.env.cr, "18.0.1.0.0")

    def test_18_0_1_2_0_fills_the_customer_salesperson(self):
        """Rows of a store built before the column get their customer's salesperson."""
        script = load_script("18.0.1.2.0", "pre-migrate")
        salesperson = self.env["res.users"].create({"name": "Migration Seller", "login": "sd_migration_seller"})
        customer = self.env["res.partner"].create({"name": "Migration Customer", "user_id": salesperson.id})
        order = self.env["sale.order"].create({"partner_id": customer.id})
        self.env.flush_all()
        # What a database of the previous version holds: no such column.
        self.env.cr.execute(SQL("ALTER TABLE sales_document_row DROP COLUMN partner_user_id CASCADE"))
        script.migrate(self.env.cr, "18.0.1.1.0")
        self.env.cr.execute(SQL(
            "SELECT partner_user_id FROM sales_document_row WHERE res_model = 'sale.order' AND res_id = %s",
            order.id,
        ))
        self.assertEqual(self.env.cr.fetchone()[0], salesperson.id)
        self.env["sales.document"].init()
        self.assertFalse(any(self.env["sales.document"]._store_differences().values()))

    def _assert_replaces_index(self, version, previous, old, definition, new):
        """The pre-migration of ``version`` drops the row table's index ``old`` (created here
        with ``definition``), which the update itself keeps; the update creates ``new``."""
        script = load_script(version, "pre-migrate")
        self.env.cr.execute(SQL(
            "CREATE INDEX %s ON sales_document_row %s", SQL.identifier(old), SQL(definition)
        ))
        self.env["sales.document"].init()
        self.assertTrue(self._index_exists(old))
        self.assertTrue(self._index_exists(new))
        script.migrate(self.env.cr, previous)
        self.assertFalse(self._index_exists(old))
        self.assertTrue(self._index_exists(new))
        # A fresh install runs no migration; a second run finds nothing to do.
        script.migrate(self.env.cr, previous)

    def test_18_0_1_6_0_replaces_the_model_index(self):
        """The row table's index on the model becomes a covering index."""
        self._assert_replaces_index(
            "18.0.1.6.0", "18.0.1.5.0", "sales_document_row_model_date_idx",
            "(res_model, date DESC, id DESC)", "sales_document_row_model_cover_idx",
        )

    def test_18_0_1_8_0_replaces_the_customer_index(self):
        """The row table's index on the customer comes to hold every column of the row."""
        self._assert_replaces_index(
            "18.0.1.8.0", "18.0.1.7.0", "sales_document_row_partner_cover_idx",
            "(partner_id, date DESC, id DESC) INCLUDE (active, company_id)",
            "sales_document_row_partner_rows_idx",
        )
