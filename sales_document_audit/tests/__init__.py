from . import test_install
from . import test_audit_capture
from . import test_audit_integrity
