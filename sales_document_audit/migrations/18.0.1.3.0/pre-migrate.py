"""The audit trail's user and company columns lose their foreign keys.

Every audited transaction inserts a row, and a foreign key checks its user
and company again at each insert, locking their rows. From this version
``res.users`` and ``res.company`` refuse instead to delete a user or a company
the trail names. Odoo creates the foreign keys it expects but never drops
one it no longer expects, hence this script; their records in
``ir_model_constraint`` go with them.
"""

from odoo.tools import SQL

COLUMNS = ("user_id", "company_id")


def migrate(cr, version):
    cr.execute(SQL(
        """SELECT con.conname
             FROM pg_constraint con
             JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = con.conkey[1]
            WHERE con.conrelid = 'sales_document_audit_log'::regclass
              AND con.contype = 'f' AND att.attname = ANY(%s)""",
        list(COLUMNS),
    ))
    for (name,) in cr.fetchall():
        cr.execute(SQL("ALTER TABLE sales_document_audit_log DROP CONSTRAINT %s", SQL.identifier(name)))
        cr.execute(SQL("DELETE FROM ir_model_constraint WHERE name = %s AND type = 'f'", name))
