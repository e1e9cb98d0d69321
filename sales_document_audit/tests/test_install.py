from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestAuditInstall(TransactionCase):
    def test_security_officer_is_an_auditor(self):
        """A security officer inherits every right of an auditor."""
        officer = self.env.ref("sales_document_audit.group_security_officer")
        auditor = self.env.ref("sales_document_audit.group_auditor")
        self.assertIn(auditor, officer.implied_ids)
        user = self.env["res.users"].create(
            {"name": "Officer", "login": "sd_officer", "groups_id": [(6, 0, [officer.id])]}
        )
        self.assertTrue(user.has_group("sales_document_audit.group_auditor"))
