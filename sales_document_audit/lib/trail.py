"""SQL reading the trail for verification, shared by the addon and the command line.

Plain query texts with ``%s`` placeholders (psycopg2 style) built from the
column lists of ``chain``; the addon wraps them in ``odoo.tools.SQL``.
"""

from . import chain

CHECKPOINT_COLUMNS = (
    "id", "company_id", "first_sequence", "last_sequence", "first_log_id", "last_log_id", "row_count",
    "merkle_root", "prev_hash", "hash", "sealed_at", "signature", "key_fingerprint",
)

# Hashed columns first (``sequence`` among them), then what sealing wrote.
ROW_COLUMNS = chain.HASHED_COLUMNS + chain.SEAL_READ_COLUMNS

UNSEALED_COLUMNS = tuple(name for name in chain.HASHED_COLUMNS if name != "sequence")

CHECKPOINTS_QUERY = (
    f"SELECT {', '.join(CHECKPOINT_COLUMNS)} FROM sales_document_audit_checkpoint"  # noqa: S608 - constant names
    " WHERE company_id IS NOT DISTINCT FROM %s ORDER BY first_sequence"
)

ROWS_QUERY = (
    f"SELECT {', '.join(ROW_COLUMNS)} FROM sales_document_audit_log"  # noqa: S608 - constant names
    " WHERE company_id IS NOT DISTINCT FROM %s AND hash IS NOT NULL AND sequence BETWEEN %s AND %s"
    " ORDER BY sequence"
)

UNSEALED_QUERY = (
    f"SELECT {', '.join(UNSEALED_COLUMNS)} FROM sales_document_audit_log"  # noqa: S608 - constant names
    " WHERE company_id IS NOT DISTINCT FROM %s AND hash IS NULL ORDER BY id LIMIT %s"
)

STRAY_QUERY = (
    "SELECT min(id) FROM sales_document_audit_log"
    " WHERE company_id IS NOT DISTINCT FROM %s AND hash IS NOT NULL AND sequence >= %s"
)

COMPANIES_QUERY = (
    "SELECT DISTINCT company_id FROM sales_document_audit_log WHERE hash IS NOT NULL"
    " UNION SELECT DISTINCT company_id FROM sales_document_audit_checkpoint"
)


def dict_rows(cursor):
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def read_company(cursor, company_id):
    """``(checkpoints, rows_for, stray_row)`` of one company read through a DB-API cursor."""
    cursor.execute(CHECKPOINTS_QUERY, (company_id,))
    checkpoints = dict_rows(cursor)

    def rows_for(first, last):
        cursor.execute(ROWS_QUERY, (company_id, first, last))
        return dict_rows(cursor)

    def stray_row(sequence):
        cursor.execute(STRAY_QUERY, (company_id, sequence))
        return cursor.fetchone()[0]

    return checkpoints, rows_for, stray_row
