import os
import shutil
import tempfile

from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from .common import BackupConfigMixin


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


@tagged("post_install", "-at_install")
class TestBackupAccess(TransactionCase):
    def test_viewer_sees_only_own_company_and_cannot_configure(self):
        from odoo.exceptions import AccessError

        viewer_company = self.env["res.company"].create({"name": "Other Co"})
        viewer = self.env["res.users"].create({
            "name": "Backup viewer", "login": "sd_backup_viewer", "company_id": viewer_company.id,
            "company_ids": [(6, 0, [viewer_company.id])],
            "groups_id": [(6, 0, [self.env.ref("sales_document_backup.group_backup_user").id,
                                  self.env.ref("base.group_user").id])],
        })
        # Named from the viewer's side: their own company's backup, and another company's.
        foreign_backup = self.env["sales.document.backup"].create({"name": "Main co backup", "kind": "full"})
        own_backup = self.env["sales.document.backup"].create(
            {"name": "Other co backup", "kind": "full", "company_id": viewer_company.id}
        )
        visible = self.env["sales.document.backup"].with_user(viewer).search([])
        self.assertIn(own_backup, visible)
        self.assertNotIn(foreign_backup, visible)
        with self.assertRaises(AccessError):
            self.env["sales.document.backup.destination"].with_user(viewer).create(
                {"name": "Sneaky", "code": "sneaky", "kind": "local", "path": "/tmp"}
            )


@tagged("post_install", "-at_install")
class TestBackupTranslation(BackupConfigMixin, TransactionCase):
    """The zh_CN terms are shown where users read them (completeness: tests/test_translations.py)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("zh_CN")

    def test_dashboard_in_zh_cn(self):
        company = self.env.company
        self.env["sales.document.backup"].search([("company_id", "=", company.id)]).unlink()
        row = self.env["sales.document.backup.dashboard"].with_context(lang="zh_CN").search(
            [("company_id", "=", company.id)]
        )
        self.assertEqual(row.status_message, "尚未进行过完整备份。")

    def test_library_error_reaches_the_user_in_zh_cn(self):
        """An error of the plain-Python storage library is shown translated, inside the translated refusal."""
        directory = tempfile.mkdtemp(prefix="sdb-zh-")
        self.addCleanup(shutil.rmtree, directory, True)
        blocker = os.path.join(directory, "a-file")
        with open(blocker, "w") as handle:
            handle.write("x")
        self._set_option("allowed_roots", tempfile.gettempdir())
        target = os.path.join(blocker, "backups")
        destination = self.env["sales.document.backup.destination"].create(
            {"name": "Blocked", "code": "blocked", "kind": "local", "path": target}
        )
        with self.assertRaises(UserError) as english:
            destination.action_check_connection()
        self.assertIn(f"The directory {target} is not writable", str(english.exception))
        with self.assertRaises(UserError) as chinese:
            destination.with_context(lang="zh_CN").action_check_connection()
        message = str(chinese.exception)
        self.assertIn("目标 Blocked 无法使用", message)
        self.assertIn(f"目录 {target} 不可写", message)
        self.assertNotIn("is not writable", message)
