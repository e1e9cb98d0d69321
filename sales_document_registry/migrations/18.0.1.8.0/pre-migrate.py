"""Drop the row table's index on the customer that this version replaces.

The index on ``partner_id, date, id`` holds every column of the row under
another name, created at the update; nothing here touches a row.
"""

from odoo.tools import SQL

from odoo.addons.sales_document_registry.tools import registry_store


def migrate(cr, version):
    if not version:
        return
    cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(f"{registry_store.ROW_TABLE}_partner_cover_idx")))
