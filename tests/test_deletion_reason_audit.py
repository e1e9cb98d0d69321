"""An administrator's deletion of a sales document: its reason reaches the audit trail."""

from odoo import Command
from odoo.tests import tagged

from odoo.addons.sales_document_audit.tests.common import AuditCase


@tagged("post_install", "-at_install")
class TestDeletionReasonAudit(AuditCase):
    def test_deletion_row_carries_the_reason(self):
        # Which fields are audited is configuration: audit the reason of orders.
        rule = self.env["sales.document.audit.rule"].search([("model", "=", "sale.order")])
        rule.field_ids = [Command.link(self.env["ir.model.fields"]._get("sale.order", "archive_reason").id)]
        order = self._create_order()
        order_id = order.id
        self._commit_point()
        order._sd_unlink_with_reason("Entered twice by the importer")
        self._commit_point()
        logs = self._logs(self.env["sale.order"].browse(order_id), "unlink")
        self.assertEqual(len(logs), 1)
        changes = self._changes(logs)
        self.assertEqual(changes["fields"]["archive_reason"], ["Entered twice by the importer", None])
        self.assertEqual(changes["fields"]["partner_id"][0][0], self.customer.id)
