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


@tagged("post_install", "-at_install")
class TestBackupAccess(TransactionCase):
    def test_viewer_sees_only_own_company_and_cannot_configure(self):
        from odoo.exceptions import AccessError

        other = self.env["res.company"].create({"name": "Other Co"})
        viewer = self.env["res.users"].create({
            "name": "Backup viewer", "login": "sd_backup_viewer", "company_id": other.id,
            "company_ids": [(6, 0, [other.id])],
            "groups_id": [(6, 0, [self.env.ref("sales_document_backup.group_backup_user").id,
                                  self.env.ref("base.group_user").id])],
        })
        mine = self.env["sales.document.backup"].create({"name": "Main co backup", "kind": "full"})
        theirs = self.env["sales.document.backup"].create(
            {"name": "Other co backup", "kind": "full", "company_id": other.id}
        )
        visible = self.env["sales.document.backup"].with_user(viewer).search([])
        self.assertIn(theirs, visible)
        self.assertNotIn(mine, visible)
        with self.assertRaises(AccessError):
            self.env["sales.document.backup.destination"].with_user(viewer).create(
                {"name": "Sneaky", "code": "sneaky", "kind": "local", "path": "/tmp"}
            )


@tagged("post_install", "-at_install")
class TestBackupTranslation(TransactionCase):
    def test_zh_cn_translation_complete_and_used(self):
        """Every term has a Simplified Chinese translation, and it is shown."""
        import os

        import polib

        path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "i18n", "zh_CN.po")
        catalog = polib.pofile(path)
        self.assertGreater(len(catalog), 200)
        self.assertEqual([e.msgid for e in catalog.untranslated_entries()], [])
        self.env["res.lang"]._activate_lang("zh_CN")
        company = self.env.company
        self.env["sales.document.backup"].search([("company_id", "=", company.id)]).unlink()
        row = self.env["sales.document.backup.dashboard"].with_context(lang="zh_CN").search(
            [("company_id", "=", company.id)]
        )
        self.assertEqual(row.status_message, "尚未进行过完整备份。")
