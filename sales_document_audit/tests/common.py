"""Shared set-up for the audit tests."""

import json

from odoo.addons.sales_document_registry.tests.common import SalesDocumentCase


class AuditCase(SalesDocumentCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Log = cls.env["sales.document.audit.log"]
        # Alerts on off-hours activity depend on the clock: off unless a test wants them.
        cls.company.audit_off_hours_enabled = False
        cls.env.flush_all()
        cls.env.cr.precommit.clear()

    def _commit_point(self):
        """What a real commit does before COMMIT: flush, then pre-commit hooks."""
        self.env.flush_all()
        self.env.cr.flush()

    def _logs(self, records, operation=None):
        domain = [("res_model", "=", records._name), ("res_id", "in", records.ids)]
        if operation:
            domain.append(("operation", "=", operation))
        return self.Log.with_context(active_test=False).search(domain, order="id")

    @staticmethod
    def _changes(log):
        return json.loads(log.changes or "{}")
