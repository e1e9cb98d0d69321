from . import test_checkpoints, test_restore_audit
