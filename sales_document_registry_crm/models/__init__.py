from . import sales_document
from . import sales_document_flow
