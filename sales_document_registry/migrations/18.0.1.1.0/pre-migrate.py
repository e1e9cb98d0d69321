"""Drop the indexes the former ``UNION ALL`` registry view needed.

Before the registry became a trigger-kept table (``sales_document_row``), its
view read the document tables directly and the addon indexed them for it.
Nothing reads these indexes any more; until 18.0.1.1.0 every update dropped
them again. They go once, here.
"""

from odoo.tools import SQL

OBSOLETE_INDEXES = (
    "sale_order_sd_registry_id_idx",
    "stock_picking_sd_registry_id_idx",
    "stock_picking_sd_date_idx",
    "account_move_sd_registry_id_idx",
    "account_move_sd_commercial_partner_idx",
    "account_move_sd_user_date_idx",
    "account_payment_sd_registry_id_idx",
)


def migrate(cr, version):
    if not version:
        return
    for index in OBSOLETE_INDEXES:
        cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(index)))
