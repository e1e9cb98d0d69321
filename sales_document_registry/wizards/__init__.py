from . import sales_document_approval_reject_wizard
from . import sales_document_archive_wizard
