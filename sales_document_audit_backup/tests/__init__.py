from . import test_checkpoints, test_restore_audit, test_s3_anchors
