"""Drop the store's indexes that this version replaces.

The tag and product links now repeat columns of their document's row, and
their index reads one tag's (product's) documents newest first
(``(tag_id, date DESC, document_id DESC)``); the row table's index on the
customer, the salesperson and the customer's salesperson now cover what
counts, rules and monthly sums read. The new
indexes are created at the update, the new columns filled by the store's
rebuild, which the store's version change causes; nothing here touches a row.
"""

from odoo.tools import SQL

from odoo.addons.sales_document_registry.tools import registry_store

REPLACED_INDEXES = (
    f"{registry_store.TAG_TABLE}_tag_idx",
    f"{registry_store.PRODUCT_TABLE}_product_idx",
    f"{registry_store.ROW_TABLE}_partner_date_idx",
    f"{registry_store.ROW_TABLE}_user_date_idx",
    f"{registry_store.ROW_TABLE}_partner_user_date_idx",
)


def migrate(cr, version):
    if not version:
        return
    for name in REPLACED_INDEXES:
        cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(name)))
