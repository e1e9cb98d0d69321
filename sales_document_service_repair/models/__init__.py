from . import repair_order
from . import sales_service_request
