from . import test_service_repair
