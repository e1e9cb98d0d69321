"""Give the registry rows the salesperson of their customer (``partner_user_id``).

Record rules on the customer's salesperson are answered on the registry row
from this version on. The column is derived in the store (from
``partner_id`` through ``res_partner``) and kept by triggers from now on;
existing rows get it here, in one statement, instead of a rebuild of the
whole store.
"""

from odoo.tools import SQL

from odoo.addons.sales_document_registry.tools import registry_store


def migrate(cr, version):
    if not version:
        return
    cr.execute(SQL("SELECT to_regclass(%s)", registry_store.ROW_TABLE))
    if not cr.fetchone()[0]:
        return
    cr.execute(SQL(
        "ALTER TABLE %s ADD COLUMN IF NOT EXISTS partner_user_id integer",
        SQL.identifier(registry_store.ROW_TABLE),
    ))
    registry_store.fill_partner_user(cr)
