# The request model comes before the registry extension: the registry
# installs its triggers on the request table, which must exist by then.
from . import sales_service_stage
from . import sales_service_level
from . import sales_service_request
from . import sales_service_stage_history
from . import sales_document
from . import stock_return_picking
from . import sale_order
from . import sales_document_flow
