"""What a security officer sees of signatures, anchors and a broken trail, in the browser."""

from odoo.tests import HttpCase, tagged
from odoo.tools import SQL

from .test_tamper_owner import AuditConfigMixin

# A whole tour, page loads included, on a machine that may be busy with other work.
TOUR_TIMEOUT = 180


@tagged("post_install", "-at_install")
class TestAnchorTour(AuditConfigMixin, HttpCase):
    def setUp(self):
        super().setUp()
        self._set_up_signing_and_anchors()
        admin = self.env.ref("base.user_admin")
        admin.groups_id += self.env.ref("sales_document_audit.group_security_officer")
        Log = self.env["sales.document.audit.log"]
        Log._cron_seal()
        partner = self.env["res.partner"].create({"name": "Anchor tour customer"})
        self.order = self.env["sale.order"].create({"partner_id": partner.id})
        self.env.flush_all()
        self.env.cr.flush()
        self.checkpoints = Log._cron_seal()
        self.assertTrue(self.checkpoints)
        self.env["sales.document.audit.checkpoint"]._sd_anchor_pending(self.checkpoints.ids)

    def test_checkpoint_shows_signature_and_anchors(self):
        self.start_tour("/odoo", "sales_document_audit_anchor_tour", login="admin", timeout=TOUR_TIMEOUT)

    def test_broken_trail_says_why(self):
        log = self.env["sales.document.audit.log"].search(
            [("res_model", "=", "sale.order"), ("res_id", "=", self.order.id)], limit=1)
        self.assertTrue(log.hash)
        cr = self.env.cr
        cr.execute(SQL("ALTER TABLE sales_document_audit_log DISABLE TRIGGER sales_document_audit_log_guard"))
        cr.execute(SQL("UPDATE sales_document_audit_log SET changes = '{}' WHERE id = %s", log.id))
        cr.execute(SQL("ALTER TABLE sales_document_audit_log ENABLE TRIGGER sales_document_audit_log_guard"))
        self.start_tour("/odoo", "sales_document_audit_broken_tour", login="admin", timeout=TOUR_TIMEOUT)
