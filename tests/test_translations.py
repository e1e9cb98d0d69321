"""Every term the three addons show has a Simplified Chinese translation."""

from pathlib import Path

import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import TranslationModuleReader

REPO = Path(__file__).resolve().parent.parent
ADDONS = (
    "sales_document_registry", "sales_document_registry_crm", "sales_document_audit", "sales_document_backup",
    "sales_document_audit_backup",
)


@tagged("post_install", "-at_install")
class TestZhCnTranslations(TransactionCase):
    def _untranslated(self, addon):
        po = polib.pofile(str(REPO / addon / "i18n" / "zh_CN.po"))
        translated = {entry.msgid for entry in po if entry.msgstr.strip() and not entry.obsolete}
        terms = {row[4] for row in TranslationModuleReader(self.env.cr, modules=[addon])}
        return sorted(terms - translated)

    def test_every_term_is_translated(self):
        for addon in ADDONS:
            with self.subTest(addon=addon):
                missing = self._untranslated(addon)
                self.assertFalse(missing, f"{addon}: {len(missing)} untranslated terms, e.g. {missing[:5]}")

    def test_translations_keep_placeholders(self):
        """A translation that drops or renames a placeholder would crash or mislead."""
        import re

        pattern = re.compile(r"%\([a-z_]+\)[sd]|%[sd]")
        for addon in ADDONS:
            for entry in polib.pofile(str(REPO / addon / "i18n" / "zh_CN.po")):
                if entry.msgstr:
                    self.assertEqual(
                        sorted(pattern.findall(entry.msgid)), sorted(pattern.findall(entry.msgstr)),
                        f"{addon}: {entry.msgid!r}",
                    )
