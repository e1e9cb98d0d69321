from . import test_service_request
from . import test_service_access
from . import test_service_portal
from . import test_service_tour
