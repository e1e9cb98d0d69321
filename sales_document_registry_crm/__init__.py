from odoo.tools import SQL

from odoo.addons.sales_document_registry.tools import registry_store

from . import models
from .models.sales_document import OPPORTUNITIES, OPPORTUNITY_TAGS


def uninstall_hook(env):
    """Take the opportunities' triggers and rows out of the registry store."""
    registry_store.drop_triggers(env.cr, [OPPORTUNITIES.table, OPPORTUNITY_TAGS.table])
    env.cr.execute(SQL(
        "DELETE FROM %s WHERE id %% 10 = %s", SQL.identifier(registry_store.ROW_TABLE), OPPORTUNITIES.kind
    ))
    env.cr.execute(SQL(
        "DELETE FROM %s WHERE document_id %% 10 = %s", SQL.identifier(registry_store.TAG_TABLE), OPPORTUNITIES.kind
    ))
