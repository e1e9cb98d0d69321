"""The steps of one full backup, shared by both ways of running it.

``execute_full_backup(session)`` writes the archive, copies it to every
destination and records the outcome. Every read or write of the backup
record goes through ``session.record()``:

- ``InlineSession`` (here): the backup runs in the worker that started it and
  writes the record in that worker's transaction (used where detached
  backups are turned off, and by tests that need one transaction);
- ``runner.DetachedSession``: the backup runs in its own process and each
  write is a short transaction of its own, so progress is visible while it
  runs.

The long parts (dump, encryption, uploads) run outside any record access:
in the detached runner no transaction stays open while data flows.
"""

import os
import time
from contextlib import contextmanager

from .lib import crypto, dump, storage
from .lib.progress import BackupProgress

# Errors that end a backup as failed with their message (anything else is a bug
# and propagates, after the partial archive is removed).
BACKUP_ERRORS = (dump.DumpError, crypto.CryptoError, storage.StorageError, OSError)


class InlineSession:
    """Writes to the backup record in the current transaction."""

    def __init__(self, backup, interval=1.0):
        self.backup = backup
        self.interval = interval
        self.progress = None

    @contextmanager
    def record(self):
        yield self.backup

    def make_progress(self, estimated_size, destinations):
        self.progress = BackupProgress(
            estimated_size, destinations, report=self.backup._record_heartbeat, interval=self.interval
        )
        return self.progress


def upload_copy(client, archive_path, object_name, expected_sha256, progress=None):
    """Copy the archive with ``client`` and check what was stored.

    Returns {'ok', 'size', 'sha256', 'error' (StorageError or None),
    'mismatch' (True when the stored copy differs)}; never raises StorageError.
    """
    try:
        info = client.put(archive_path, object_name, progress=progress)
    except storage.StorageError as exc:
        return {"ok": False, "error": exc, "mismatch": False, "size": 0, "sha256": None}
    if info["sha256"] != expected_sha256:
        return {"ok": False, "error": None, "mismatch": True, "size": info["size"], "sha256": info["sha256"]}
    return {"ok": True, "error": None, "mismatch": False, "size": info["size"], "sha256": info["sha256"]}


def execute_full_backup(session):
    """Dump, encrypt and copy the database; the record ends ``done`` or ``failed``."""
    started = time.monotonic()
    error = None
    plan = None
    try:
        with session.record() as backup:
            plan = backup._prepare_full_backup_plan()
        progress = session.make_progress(plan["estimated_size"], len(plan["targets"]))
        public_key = crypto.load_public_key(plan["public_key"])
        result = dump.create_backup(
            plan["archive_path"],
            plan["database"],
            public_key,
            params=plan["db_params"],
            filestore=plan["filestore"],
            timeout=plan["timeout"],
            extra_manifest=plan["extra_manifest"],
            pg_dump=plan["pg_dump"],
            progress=progress,
        )
        progress.archive_done(result["size"])
        with session.record() as backup:
            backup._record_archive(result)
        for destination_id, client in plan["targets"]:
            outcome = upload_copy(client, plan["archive_path"], plan["object_name"], result["sha256"], progress.copied)
            with session.record() as backup:
                backup._record_copy(destination_id, plan["object_name"], outcome, client.describe())
    except BACKUP_ERRORS as exc:
        error = exc
    finally:
        if plan and os.path.exists(plan["archive_path"]):
            os.unlink(plan["archive_path"])
    with session.record() as backup:
        backup._finish_full_backup(error, time.monotonic() - started)
