"""The audit trail's user and company columns lose their foreign keys.

Every audited transaction inserts a row, and a foreign key checks its user
and company again at each insert, locking their rows. From this version
``res.users`` and ``res.company`` refuse instead to delete a user or a company
the trail names. Odoo creates the foreign keys it expects but never drops
one it no longer expects, hence this script; their records in
``ir_model_constraint`` go with them.
"""

from odoo.tools import SQL, sql

TABLE = "sales_document_audit_log"
REFERENCES = (("user_id", "res_users"), ("company_id", "res_company"))


def migrate(cr, version):
    for column, target in REFERENCES:
        for name in sql.get_foreign_keys(cr, TABLE, column, target, "id", "restrict"):
            sql.drop_constraint(cr, TABLE, name)
            cr.execute(SQL("DELETE FROM ir_model_constraint WHERE name = %s AND type = 'f'", name))
