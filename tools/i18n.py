"""Export each addon's terms and merge them into its zh_CN.po.

Usage (from the repository root, with the virtual environment's Python):
    .venv/bin/python tools/i18n.py --config .build/test-<db>.conf --database <db>

The database must have the three addons installed (``make test`` with
TEST_DB=<db> keeps one). For each addon this writes ``i18n/<addon>.pot``
with the current source terms, adds the new terms to ``i18n/zh_CN.po``
(existing translations are kept, obsolete ones dropped) and prints the terms
still untranslated.
"""

import argparse
import io
import sys
from pathlib import Path

import polib
from devtool import ADDONS  # the addons of the repository, in install order (same folder)

REPO = Path(__file__).resolve().parent.parent


def export_pot(env, module):
    from odoo.tools.translate import trans_export

    buffer = io.BytesIO()
    trans_export(False, [module], buffer, "po", env.cr)
    return polib.pofile(buffer.getvalue().decode())


def merge(pot, po_path):
    old = polib.pofile(str(po_path)) if po_path.exists() else polib.POFile()
    known = {(e.msgctxt, e.msgid): e for e in old}
    po = polib.POFile()
    po.metadata = {
        "Project-Id-Version": "Odoo Server 18.0",
        "Language": "zh_CN",
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "",
        "Plural-Forms": "",
    }
    missing = []
    for entry in pot:
        previous = known.get((entry.msgctxt, entry.msgid))
        entry.msgstr = previous.msgstr if previous else ""
        po.append(entry)
        if not entry.msgstr:
            missing.append(entry.msgid)
    po.save(str(po_path))
    return missing


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--module", action="append", help="only these addons")
    args = parser.parse_args()

    import odoo
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database])
    registry = Registry(args.database)
    total = 0
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        for module in args.module or ADDONS:
            pot = export_pot(env, module)
            i18n = REPO / module / "i18n"
            i18n.mkdir(exist_ok=True)
            pot.save(str(i18n / f"{module}.pot"))
            missing = merge(pot, i18n / "zh_CN.po")
            total += len(missing)
            print(f"{module}: {len(pot)} terms, {len(missing)} untranslated")
            for msgid in missing:
                print(f"    {msgid!r}")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
