from datetime import datetime, timedelta

from odoo.tests import BaseCase, tagged

from ..lib import retention


@tagged("post_install", "-at_install")
class TestRetention(BaseCase):
    def test_grandfather_father_son(self):
        start = datetime(2026, 1, 1, 2, 0)
        # Two backups a day for 120 days: ids grow with time.
        items = [(i, start + timedelta(hours=12 * i)) for i in range(240)]
        kept = retention.select_kept(items, daily=7, weekly=4, monthly=3)
        newest = items[-1][0]
        self.assertIn(newest, kept)
        # 7 days + up to 4 weeks + 3 months, overlapping: far fewer than all.
        self.assertLessEqual(len(kept), 14)
        # The older backup of the newest day is not kept.
        self.assertNotIn(newest - 1, kept)
        # Nothing older than the third month is kept...
        oldest_kept = min(dict(items)[i] for i in kept)
        self.assertGreaterEqual(oldest_kept, datetime(2026, 2, 1))
        # ...unless it is protected (e.g. the last verified backup).
        self.assertIn(3, retention.select_kept(items, daily=1, weekly=0, monthly=0, protected={3}))
        self.assertEqual(retention.select_kept([], 1, 1, 1), set())
        self.assertEqual(retention.select_kept(items, daily=1, weekly=0, monthly=0), {newest})
