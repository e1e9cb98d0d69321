from . import sales_document_cycle_time
