from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestTranslation(TransactionCase):
    """The zh_CN terms are shown (completeness: the repository's tests/test_translations.py)."""

    def test_zh_cn_loaded(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"].search([("name", "=", "sales_document_audit")])._update_translations(
            filter_lang=["zh_CN"]
        )
        officer = self.env.ref("sales_document_audit.group_security_officer").with_context(lang="zh_CN")
        self.assertEqual(officer.name, "安全官")
        label = self.env["sales.document.audit.log"].with_context(lang="zh_CN")._fields["operation"]
        self.assertIn(("denied", "拒绝访问"), label._description_selection(self.env(context={"lang": "zh_CN"})))
