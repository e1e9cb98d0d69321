"""Every term the addons show has a Simplified Chinese translation.

The one completeness check of the project: it covers every addon of the
repository (each folder with a manifest), so that a new addon is checked
from its first commit. The addons' own tests check that their terms are shown
translated where it matters.
"""

import re
from pathlib import Path

import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import TranslationModuleReader

REPO = Path(__file__).resolve().parent.parent
ADDONS = sorted(path.parent.name for path in REPO.glob("*/__manifest__.py"))
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]")


@tagged("post_install", "-at_install")
class TestZhCnTranslations(TransactionCase):
    def _catalog(self, addon):
        return polib.pofile(str(REPO / addon / "i18n" / "zh_CN.po"))

    def _untranslated(self, addon):
        translated = {entry.msgid for entry in self._catalog(addon) if entry.msgstr.strip() and not entry.obsolete}
        terms = {row[4] for row in TranslationModuleReader(self.env.cr, modules=[addon])}
        return sorted(terms - translated)

    def test_every_addon_is_checked(self):
        """The list of addons comes from the repository, bridges included."""
        self.assertGreaterEqual(
            set(ADDONS),
            {"sales_document_registry", "sales_document_registry_crm", "sales_document_audit",
             "sales_document_backup", "sales_document_audit_backup"},
        )

    def test_every_term_is_translated(self):
        for addon in ADDONS:
            with self.subTest(addon=addon):
                missing = self._untranslated(addon)
                self.assertFalse(missing, f"{addon}: {len(missing)} untranslated terms, e.g. {missing[:5]}")

    def test_translations_keep_placeholders(self):
        """A translation that drops or renames a placeholder would crash or mislead."""
        for addon in ADDONS:
            for entry in self._catalog(addon):
                if entry.msgstr:
                    self.assertEqual(
                        sorted(PLACEHOLDER.findall(entry.msgid)), sorted(PLACEHOLDER.findall(entry.msgstr)),
                        f"{addon}: {entry.msgid!r}",
                    )
