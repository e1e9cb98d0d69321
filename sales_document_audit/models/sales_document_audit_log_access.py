import logging

from odoo import _, api, models, sql_db
from odoo.tools import SQL

_logger = logging.getLogger(__name__)


class SalesDocumentAuditLogAccess(models.Model):
    """Access logging: reads, prints, exports and denied attempts, written without ever failing the request."""

    _inherit = "sales.document.audit.log"

    # ------------------------------------------------------------------
    # Capture: accesses, written in their own short transaction
    # ------------------------------------------------------------------

    @api.model
    def _insert_record_rows(self, records, operation, changes):
        """Write one audit row per record of ``records`` at once, outside the commit capture.

        For records that are not sales documents but whose changes belong in
        the trail (alerts, a customer's salesperson). ``changes(record)`` is
        the record's ``fields`` content: ``{field: [old, new]}``.
        """
        shared = self._prepare_log_shared_vals()
        rows = [
            self._prepare_log_vals(
                shared, records._name, record.id, operation, {"fields": changes(record)},
                res_name=record.display_name, company_id=record.company_id.id,
            )
            for record in records
        ]
        records.flush_recordset()
        self._insert_rows(self.env.cr, rows)

    @api.model
    def _log_access(self, records, operation, details=None):
        """Record a read, print, export or denied access; never raises."""
        if self.env.su or not records:
            return
        try:
            rows = self._prepare_access_rows(records, operation, details)
            self._write_out_of_band(rows, own_transaction=operation == "denied")
        except Exception:
            _logger.warning("Could not record the %s access to %s", operation, records, exc_info=True)

    @api.model
    def _prepare_access_rows(self, records, operation, details=None, bulk=False):
        """Access rows of ``records``: one per record, or one for all of them
        (``bulk``, and every export) that keeps the first 1000 ids."""
        shared = self._prepare_log_shared_vals()
        # sudo: the name and company of what was accessed (or refused) are recorded whoever asked.
        documents = records.sudo().with_context(active_test=False)
        if bulk or operation == "export":
            first = documents[:1]
            return [self._prepare_log_vals(
                shared, records._name, first.id, operation, dict(details or {}, ids=records.ids[:1000]),
                res_name=_("%(count)s records", count=len(records)), company_id=first.company_id.id,
            )]
        return [
            self._prepare_log_vals(
                shared, records._name, document.id, operation, details or {},
                res_name=document.display_name, company_id=document.company_id.id,
            )
            for document in documents
        ]

    @api.model
    def _side_cursor(self):
        """A cursor of its own, committed independently of the request."""
        registry = self.env.registry
        cr = self.env.cr
        if registry.in_test_mode() and cr.readonly and getattr(cr, "_savepoint", None):
            # A test transaction cannot nest a read/write cursor in a live
            # read-only one: use an independent connection, as production does.
            return sql_db.db_connect(cr.dbname).cursor()
        return registry.cursor()

    @api.model
    def _insert_on_side_cursor(self, rows):
        try:
            with self._side_cursor() as cr:
                cr.execute(SQL("SET LOCAL lock_timeout = %s", "2s"))
                self._insert_rows(cr, rows)
        except Exception:
            _logger.warning("Could not record %s audit access row(s)", len(rows), exc_info=True)

    @api.model
    def _write_out_of_band(self, rows, own_transaction=False):
        """Insert access ``rows`` without ever failing the request.

        In a read/write transaction the rows go with it. A read-only
        transaction cannot insert: the rows go through a short transaction
        of their own. Denied attempts usually end in a rollback: they are
        written at commit if the request commits anyway, else right after
        the rollback, exactly once.
        """
        cr = self.env.cr
        if not own_transaction:
            if cr.readonly:
                self._insert_on_side_cursor(rows)
            else:
                with cr.savepoint(flush=False):
                    self._insert_rows(cr, rows)
            return
        done = []

        def at_commit():
            if done:
                return
            done.append(True)
            if cr.readonly:
                self._insert_on_side_cursor(rows)
            else:
                self._insert_rows(cr, rows)

        def afterwards():
            # After a rollback, or after a commit when a rolled back
            # savepoint dropped the pre-commit hook.
            if done:
                return
            done.append(True)
            self._insert_on_side_cursor(rows)

        cr.precommit.add(at_commit)
        cr.postcommit.add(afterwards)
        cr.postrollback.add(afterwards)
