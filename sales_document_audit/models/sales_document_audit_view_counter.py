import logging
from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

# Key of the per-transaction read counts in ``cr.precommit.data``.
READS_KEY = "sales_document_audit.reads"


class SalesDocumentAuditViewCounter(models.Model):
    """How many sales documents each user read per day and model.

    List views and other reads (``read``, ``search_read``, ``read_group``
    and their web variants) are counted, not logged row by row: one counter
    row per user, model and day, updated once per transaction (in a short
    transaction of its own for read-only requests). ``list_count`` counts
    the calls, ``record_count`` the rows (or groups) they returned.
    """

    _name = "sales.document.audit.view.counter"
    _description = "Sales Document List View Counter"
    _order = "date desc, user_id"
    _log_access = False

    user_id = fields.Many2one("res.users", string="User", required=True, readonly=True, ondelete="cascade")
    res_model = fields.Char(string="Document model", required=True, readonly=True)
    date = fields.Date(required=True, readonly=True)
    list_count = fields.Integer(string="Read calls", readonly=True)
    record_count = fields.Integer(string="Rows read", readonly=True)
    company_id = fields.Many2one("res.company", string="Company", readonly=True, ondelete="cascade")

    _sql_constraints = [
        ("user_model_date_unique", "unique(user_id, res_model, date)", "One counter per user, model and day."),
    ]

    @api.model
    def _count_read(self, records, method, rows):
        """Count one read call of ``records`` (``rows`` rows or groups returned).

        Costs a dictionary update: the counts of a transaction are written
        once, just before it ends, in a short transaction of their own when
        the request is read-only. A call returning more rows than the
        company's export limit is also logged as one audit row, which the
        mass-export alert reads.
        """
        if self.env.su or not rows:
            return
        data = self.env.cr.precommit.data
        pending = data.get(READS_KEY)
        if pending is None:
            pending = data[READS_KEY] = {"counts": defaultdict(lambda: [0, 0]), "rows": []}
            self.env.cr.precommit.add(self._flush_reads)
        company = self.env.company
        counts = pending["counts"][(self.env.uid, records._name, company.id)]
        counts[0] += 1
        counts[1] += rows
        limit = company.audit_export_limit
        if limit > 0 and rows > limit:
            pending["rows"] += self.env["sales.document.audit.log"]._prepare_access_rows(
                records, "read", {"method": method, "count": rows}, bulk=True,
            )

    @api.model
    def _flush_reads(self):
        """Write the transaction's read counts and large-read rows; never raises."""
        pending = self.env.cr.precommit.data.pop(READS_KEY, None)
        if not pending:
            return
        today = fields.Date.context_today(self)
        values = SQL(", ").join(
            SQL("(%s, %s, %s, %s, %s, %s)", uid, model, today, calls, rows, company_id)
            for (uid, model, company_id), (calls, rows) in pending["counts"].items()
        )
        query = SQL(
            """INSERT INTO sales_document_audit_view_counter
                   (user_id, res_model, date, list_count, record_count, company_id)
               VALUES %s
               ON CONFLICT (user_id, res_model, date) DO UPDATE
                  SET list_count = sales_document_audit_view_counter.list_count + EXCLUDED.list_count,
                      record_count = sales_document_audit_view_counter.record_count + EXCLUDED.record_count""",
            values,
        )
        Log = self.env["sales.document.audit.log"]
        try:
            if not self.env.cr.readonly:
                with self.env.cr.savepoint(flush=False):
                    self.env.cr.execute(query)
                    Log._insert_rows(self.env.cr, pending["rows"])
                return
            with Log._side_cursor() as cr:  # read-only request: a short transaction of its own
                cr.execute(SQL("SET LOCAL lock_timeout = %s", "2s"))
                cr.execute(query)
                Log._insert_rows(cr, pending["rows"])
        except Exception:
            _logger.warning("Could not count the reads of sales documents", exc_info=True)
