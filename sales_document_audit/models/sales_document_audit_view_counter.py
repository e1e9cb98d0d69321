import logging

from odoo import api, fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)


class SalesDocumentAuditViewCounter(models.Model):
    """How many sales documents each user listed per day and model.

    List views are counted, not logged row by row: one counter row per
    user, model and day, incremented in a short transaction of its own so
    that read-only requests can update it.
    """

    _name = "sales.document.audit.view.counter"
    _description = "Sales Document List View Counter"
    _order = "date desc, user_id"
    _log_access = False

    user_id = fields.Many2one("res.users", string="User", required=True, readonly=True, ondelete="cascade")
    res_model = fields.Char(string="Document model", required=True, readonly=True)
    date = fields.Date(required=True, readonly=True)
    list_count = fields.Integer(string="List views", readonly=True)
    record_count = fields.Integer(string="Rows listed", readonly=True)
    company_id = fields.Many2one("res.company", string="Company", readonly=True, ondelete="cascade")

    _sql_constraints = [
        ("user_model_date_unique", "unique(user_id, res_model, date)", "One counter per user, model and day."),
    ]

    @api.model
    def _count_list_view(self, model_name, rows):
        """Add one list view of ``rows`` rows for the current user; never raises."""
        if self.env.su:
            return
        Log = self.env["sales.document.audit.log"]
        query = SQL(
            """INSERT INTO sales_document_audit_view_counter
                   (user_id, res_model, date, list_count, record_count, company_id)
               VALUES (%s, %s, %s, 1, %s, %s)
               ON CONFLICT (user_id, res_model, date) DO UPDATE
                  SET list_count = sales_document_audit_view_counter.list_count + 1,
                      record_count = sales_document_audit_view_counter.record_count + EXCLUDED.record_count""",
            self.env.uid, model_name, fields.Date.context_today(self), rows, self.env.company.id,
        )
        try:
            if not self.env.cr.readonly:
                with self.env.cr.savepoint(flush=False):
                    self.env.cr.execute(query)
                return
            with Log._side_cursor() as cr:  # read-only request: a short transaction of its own
                cr.execute(SQL("SET LOCAL lock_timeout = %s", "2s"))
                cr.execute(query)
        except Exception:
            _logger.warning("Could not count a list view of %s", model_name, exc_info=True)
