from . import sales_document_archive_wizard
