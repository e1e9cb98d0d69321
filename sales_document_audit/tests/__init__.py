from . import test_install
from . import test_audit_capture
from . import test_audit_integrity
from . import test_role_matrix
from . import test_access_logging
from . import test_audit_alerts
from . import test_translation
from . import test_audit_reports
