"""Install the audit-backup bridge where the backup addon is installed.

``sales_document_audit_backup`` (audit checkpoints in backups and in the
journal, journal restores in the audit trail) is auto-installed with both
addons, but Odoo installs a new auto-installed addon only along with another
install, never on an update: a database made before the bridge existed would
lose what it connects. The bridge is marked for installation here; Odoo
installs it in the same update.
"""

from odoo import SUPERUSER_ID, api

BRIDGE = "sales_document_audit_backup"


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    Module = env["ir.module.module"]
    backup = Module.search([("name", "=", "sales_document_backup"), ("state", "in", ("installed", "to upgrade"))])
    bridge = Module.search([("name", "=", BRIDGE), ("state", "=", "uninstalled")])
    if backup and bridge:
        bridge.button_install()
