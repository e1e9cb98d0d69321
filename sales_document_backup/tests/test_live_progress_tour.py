from unittest.mock import patch

from odoo import fields
from odoo.tests import HttpCase, tagged

# A whole tour, page loads included, on a machine that may be busy with other work.
TOUR_TIMEOUT = 180


@tagged("post_install", "-at_install")
class TestLiveProgressTour(HttpCase):
    """The progress of a running backup moves in the browser without a reload.

    The tours write the progress through RPC, as the backup process does from
    its own transactions, and wait for the views to show it by themselves.
    """

    def setUp(self):
        super().setUp()
        # The tours play the backup process: only it may write these fields,
        # and clients (the browser included) are refused them otherwise.
        patcher = patch.object(
            type(self.env["sales.document.backup"]), "_sdb_check_process_fields", lambda _self, _vals_list: None
        )
        patcher.start()
        self.addCleanup(patcher.stop)
        self.backup = self.env["sales.document.backup"].create({
            "name": "Live progress backup",
            "kind": "full",
            "state": "running",
            "progress": 10.0,
            "progress_step": "start",
            "heartbeat": fields.Datetime.now(),
            "company_id": self.env.ref("base.main_company").id,
        })

    def test_form_follows_running_backup(self):
        """The form's bar and summary follow the backup to the end, then the
        form is no longer reloaded."""
        self.start_tour(
            f"/odoo/action-sales_document_backup.sales_document_backup_action/{self.backup.id}",
            "sales_document_backup_live_progress_form",
            login="admin",
            timeout=TOUR_TIMEOUT,
        )
        self.assertEqual(self.backup.state, "done")
        self.assertEqual(self.backup.name, "Renamed after it finished")

    def test_list_and_dashboard_follow_running_backup(self):
        """The list row and the dashboard card follow the backup; the card
        drops the progress bar once it is done."""
        self.start_tour(
            "/odoo/action-sales_document_backup.sales_document_backup_action",
            "sales_document_backup_live_progress_dashboard",
            login="admin",
            timeout=TOUR_TIMEOUT,
        )
        self.assertEqual(self.backup.state, "done")
