# The mixin first: the backup models inherit it.
from . import sales_document_backup_process_mixin
from . import (
    account_move,
    account_payment,
    sale_order,
    sales_document_backup,
    sales_document_backup_copy,
    sales_document_backup_dashboard,
    sales_document_backup_destination,
    sales_document_backup_journal,
    sales_document_backup_restore_test,
    stock_picking,
)
