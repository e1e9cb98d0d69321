from . import sales_document_backup, sales_document_backup_journal
