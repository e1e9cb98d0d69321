"""Drop the link tables' indexes on (linked id, document) that this version replaces.

The tag and product links now repeat columns of their document's row, and
their index reads one tag's (product's) documents newest first
(``(tag_id, date DESC, document_id DESC)``, created at the update). The new
columns are filled by the store's rebuild, which the store's version change
causes; nothing here touches a row.
"""

from odoo.tools import SQL

from odoo.addons.sales_document_registry.tools import registry_store

REPLACED_INDEXES = (f"{registry_store.TAG_TABLE}_tag_idx", f"{registry_store.PRODUCT_TABLE}_product_idx")


def migrate(cr, version):
    if not version:
        return
    for name in REPLACED_INDEXES:
        cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(name)))
