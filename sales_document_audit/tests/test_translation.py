from pathlib import Path

from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import PoFileReader

PO_FILE = Path(__file__).resolve().parent.parent / "i18n" / "zh_CN.po"


@tagged("post_install", "-at_install")
class TestTranslation(TransactionCase):
    def test_zh_cn_complete(self):
        """Every term of the module has a Simplified Chinese translation."""
        with PO_FILE.open("rb") as po:
            entries = list(PoFileReader(po))
        self.assertGreater(len(entries), 150)
        missing = [entry["src"] for entry in entries if not entry["value"].strip()]
        self.assertFalse(missing, missing)

    def test_zh_cn_loaded(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"].search([("name", "=", "sales_document_audit")])._update_translations(
            filter_lang=["zh_CN"]
        )
        officer = self.env.ref("sales_document_audit.group_security_officer").with_context(lang="zh_CN")
        self.assertEqual(officer.name, "安全官")
        label = self.env["sales.document.audit.log"].with_context(lang="zh_CN")._fields["operation"]
        self.assertIn(("denied", "拒绝访问"), label._description_selection(self.env(context={"lang": "zh_CN"})))
