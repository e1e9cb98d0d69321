"""Copies made before 18.0.1.1.0 did not record where they were written.

Retention now deletes a copy only where it was written: record, for the
existing copies, the current location of their destination. Copies of a
destination that is outside the allowed roots keep no location and are never
deleted by retention (see readme/SECURITY.md).
"""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    Copy = env["sales.document.backup.copy"]
    # Imported here: the addon's modules are loaded once the registry is ready.
    from odoo.addons.sales_document_backup.lib import storage

    destinations = env["sales.document.backup.destination"].with_context(active_test=False).search([])
    for destination in destinations:
        try:
            location = destination._get_storage().describe()
        except storage.StorageError:
            continue
        copies = Copy.search([("destination_id", "=", destination.id), ("location", "=", False)])
        copies._sdb_process_write({"location": location})
