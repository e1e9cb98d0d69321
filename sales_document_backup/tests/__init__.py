from . import (
    test_backup,
    test_detached,
    test_install,
    test_journal,
    test_journal_restore,
    test_lib_crypto,
    test_lib_dump,
    test_lib_manifest,
    test_lib_progress,
    test_lib_retention,
    test_lib_storage,
    test_retention,
)
