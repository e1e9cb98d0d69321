"""Drop the row table's index on the model that this version replaces.

The index on ``res_model, date, id`` becomes a covering index (with what
counts, rules and monthly sums read) under another name, created at the
update; nothing here touches a row.
"""

from odoo.tools import SQL

from odoo.addons.sales_document_registry.tools import registry_store


def migrate(cr, version):
    if not version:
        return
    cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(f"{registry_store.ROW_TABLE}_model_date_idx")))
