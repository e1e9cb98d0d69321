from odoo.tools import SQL

from . import models
from . import tools
from . import report
from . import wizards


def uninstall_hook(env):
    """Drop the registry views before Odoo removes the models' tables."""
    for view in ("sales_document_tag_rel", "sales_document_product_rel", "sales_document"):
        env.cr.execute(SQL("DROP VIEW IF EXISTS %s CASCADE", SQL.identifier(view)))
    # The store's triggers sit on Odoo's own tables: they must go with the addon.
    tools.registry_store.drop_all(env.cr, env["sales.document"]._registry_layout())
    # The oversell guard's lock rows live in a plain table of their own.
    env.cr.execute(SQL("DROP TABLE IF EXISTS sales_document_oversell_lock"))
