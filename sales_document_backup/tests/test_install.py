from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestBackupInstall(TransactionCase):
    def test_backup_manager_sees_backups(self):
        """A backup administrator inherits the viewer's rights."""
        manager = self.env.ref("sales_document_backup.group_backup_manager")
        user = self.env["res.users"].create(
            {"name": "Backup admin", "login": "sd_backup_admin", "groups_id": [(6, 0, [manager.id])]}
        )
        self.assertTrue(user.has_group("sales_document_backup.group_backup_user"))
        self.assertFalse(user.has_group("base.group_system"))
