"""Progress of a full backup: current step, share done, bytes written.

A backup has two phases of known order: writing the encrypted archive (the
database dump, then the filestore) and copying it to each destination. The
archive's final size is not known while it is written, so the first phase is
measured against an estimate (the size of the previous backup) and never
shows complete before it is; the copies are measured against the real size.

``BackupProgress`` only keeps numbers and calls ``report`` (a callable taking
the snapshot dict) at most every ``interval`` seconds, and at once when the
step changes, so that callers can write it somewhere without slowing the
data path. It is thread-safe: a heartbeat thread may read ``snapshot()``
while the backup thread advances it.
"""

import threading
import time

STEPS = ("start", "dump", "filestore", "upload", "done")
# Share of the whole backup taken by writing the archive; copies take the rest.
ARCHIVE_SHARE = 70.0
# The archive phase never shows more than this share of itself before it ends.
ESTIMATE_CAP = 0.99


class BackupProgress:
    """Thread-safe progress counter of one full backup."""

    def __init__(self, estimated_size=None, destinations=1, report=None, interval=2.0, clock=time.monotonic):
        self.estimated_size = max(int(estimated_size or 0), 0)
        self.destinations = max(int(destinations or 0), 1)
        self._report = report
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._step = "start"
        self._archive_bytes = 0
        self._archive_size = None
        self._copied = 0
        self._last_report = None

    # ------------------------------------------------------------------
    # Advancing
    # ------------------------------------------------------------------

    def start_step(self, step):
        """Enter ``step`` (one of STEPS); reported at once."""
        if step not in STEPS:
            raise ValueError(f"Unknown backup step {step!r}.")
        with self._lock:
            self._step = step
        self._maybe_report(force=True)

    def archive_written(self, total_bytes):
        """The archive now holds ``total_bytes`` (encrypted) bytes."""
        with self._lock:
            self._archive_bytes = max(int(total_bytes), self._archive_bytes)
        self._maybe_report()

    def archive_done(self, size):
        """The archive is complete with ``size`` bytes; copies start."""
        with self._lock:
            self._archive_bytes = self._archive_size = int(size)
            self._step = "upload"
            self._copied = 0
        self._maybe_report(force=True)

    def copied(self, nbytes):
        """``nbytes`` more bytes were copied to a destination."""
        with self._lock:
            self._copied += int(nbytes)
        self._maybe_report()

    def finish(self):
        with self._lock:
            self._step = "done"
        self._maybe_report(force=True)

    # ------------------------------------------------------------------
    # Reading
    # ------------------------------------------------------------------

    def snapshot(self):
        """{'step', 'percent' (0-100), 'bytes'} as they stand now."""
        with self._lock:
            return {"step": self._step, "percent": round(self._percent(), 1), "bytes": self._bytes()}

    def _bytes(self):
        if self._step in ("upload", "done"):
            return self._copied if self._step == "upload" else (self._archive_size or self._archive_bytes)
        return self._archive_bytes

    def _percent(self):
        if self._step == "done":
            return 100.0
        if self._step == "start":
            return 0.0
        if self._step in ("dump", "filestore"):
            if not self.estimated_size:
                return 0.0
            share = min(self._archive_bytes / self.estimated_size, ESTIMATE_CAP)
            return ARCHIVE_SHARE * share
        total = (self._archive_size or 1) * self.destinations
        share = min(self._copied / total, ESTIMATE_CAP)
        return ARCHIVE_SHARE + (100.0 - ARCHIVE_SHARE) * share

    def _maybe_report(self, force=False):
        if self._report is None:
            return
        now = self._clock()
        if not force and self._last_report is not None and now - self._last_report < self._interval:
            return
        self._last_report = now
        self._report(self.snapshot())
