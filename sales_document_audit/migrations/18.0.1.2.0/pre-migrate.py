"""Fewer indexes on the audit trail, which every user write adds a row to.

The single-column indexes of ``res_model``, ``res_id`` (both covered by the
document index), ``operation`` and ``company_id`` go. Those of ``sequence``
and ``checkpoint_id`` are dropped here so that the update makes them again
as partial indexes (``btree_not_null``): a row enters them only once sealed.
Odoo keeps an index it no longer expects, hence this script.
"""

from odoo.tools import SQL

DROPPED = ("res_model", "res_id", "operation", "company_id", "sequence", "checkpoint_id")


def migrate(cr, version):
    for column in DROPPED:
        cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(f"sales_document_audit_log__{column}_index")))
