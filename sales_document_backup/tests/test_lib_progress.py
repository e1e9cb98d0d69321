from odoo.tests import BaseCase, tagged

from ..lib.progress import ARCHIVE_SHARE, BackupProgress


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@tagged("post_install", "-at_install")
class TestBackupProgress(BaseCase):
    def test_steps_percent_and_bytes(self):
        clock = FakeClock()
        reports = []
        progress = BackupProgress(estimated_size=1000, destinations=2, report=reports.append, interval=5, clock=clock)
        self.assertEqual(progress.snapshot(), {"step": "start", "percent": 0.0, "bytes": 0})
        progress.start_step("dump")
        progress.archive_written(500)
        self.assertEqual(progress.snapshot(), {"step": "dump", "percent": ARCHIVE_SHARE / 2, "bytes": 500})
        # More than estimated: the archive phase never claims to be complete.
        progress.start_step("filestore")
        progress.archive_written(5000)
        self.assertLess(progress.snapshot()["percent"], ARCHIVE_SHARE)
        progress.archive_done(2000)
        self.assertEqual(progress.snapshot(), {"step": "upload", "percent": ARCHIVE_SHARE, "bytes": 0})
        progress.copied(2000)  # first of two destinations
        self.assertEqual(progress.snapshot()["percent"], ARCHIVE_SHARE + (100 - ARCHIVE_SHARE) / 2)
        progress.copied(2000)
        self.assertLess(progress.snapshot()["percent"], 100.0, "100% only once finished")
        progress.finish()
        self.assertEqual(progress.snapshot(), {"step": "done", "percent": 100.0, "bytes": 2000})
        # Step changes are reported at once; byte counts at most every 5 s.
        self.assertEqual([r["step"] for r in reports], ["dump", "filestore", "upload", "done"])

    def test_reports_are_throttled(self):
        clock = FakeClock()
        reports = []
        progress = BackupProgress(estimated_size=10_000, report=reports.append, interval=5, clock=clock)
        progress.start_step("dump")
        for written in range(100, 1100, 100):
            clock.now += 1
            progress.archive_written(written)
        self.assertEqual([r["bytes"] for r in reports], [0, 500, 1000])

    def test_without_estimate_and_unknown_step(self):
        progress = BackupProgress()
        progress.start_step("dump")
        progress.archive_written(123)
        self.assertEqual(progress.snapshot(), {"step": "dump", "percent": 0.0, "bytes": 123})
        with self.assertRaises(ValueError):
            progress.start_step("coffee")
