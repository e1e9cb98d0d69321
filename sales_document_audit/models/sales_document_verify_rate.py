from odoo import api, fields, models
from odoo.tools import SQL

# Requests per client address and minute when the parameter is not set.
DEFAULT_LIMIT = 20
LIMIT_PARAM = "sales_document_audit.verify_rate_limit"


class SalesDocumentVerifyRate(models.Model):
    """Requests to the printed document verification page per client address and minute.

    Counted in the database so that every worker of every server sees the
    same count; each count is committed at once in a transaction of its own,
    so that a request that fails afterwards still counts. Rows of forged
    tokens are kept 30 days (the count of forged tokens per address), the
    others an hour.
    """

    _name = "sales.document.verify.rate"
    _description = "Printed Document Verification Requests"
    _log_access = False
    _order = "window_start desc, id desc"

    ip_address = fields.Char(string="IP address", required=True, readonly=True)
    window_start = fields.Datetime(string="Minute", required=True, readonly=True)
    hits = fields.Integer(string="Requests", readonly=True)
    forged = fields.Integer(string="Invalid tokens", readonly=True)

    _sql_constraints = [
        ("ip_window_unique", "UNIQUE (ip_address, window_start)", "One counter per address and minute."),
    ]

    @api.model
    def _verify_rate_limit(self):
        # sudo: public visitors cannot read system parameters.
        value = self.env["ir.config_parameter"].sudo().get_param(LIMIT_PARAM)
        try:
            return max(int(value), 1) if value else DEFAULT_LIMIT
        except ValueError:
            return DEFAULT_LIMIT

    @api.model
    def _count_request(self, ip_address, forged=False):
        """Count one request (or one forged token) of ``ip_address``; returns the requests of this minute."""
        with self.env["sales.document.audit.log"]._side_cursor() as cr:
            cr.execute(SQL(
                """INSERT INTO sales_document_verify_rate (ip_address, window_start, hits, forged)
                   VALUES (%(ip)s, date_trunc('minute', now() AT TIME ZONE 'UTC'), %(hits)s, %(forged)s)
                   ON CONFLICT (ip_address, window_start) DO UPDATE
                      SET hits = sales_document_verify_rate.hits + EXCLUDED.hits,
                          forged = sales_document_verify_rate.forged + EXCLUDED.forged
                   RETURNING hits, xmax = 0""",
                ip=ip_address or "unknown", hits=0 if forged else 1, forged=1 if forged else 0,
            ))
            hits, inserted = cr.fetchone()
            if inserted:
                cr.execute(SQL(
                    """DELETE FROM sales_document_verify_rate
                        WHERE window_start < now() AT TIME ZONE 'UTC' - interval '1 hour' AND forged = 0
                           OR window_start < now() AT TIME ZONE 'UTC' - interval '30 days'"""
                ))
        return hits

    @api.model
    def _allow_request(self, ip_address):
        """Count a request of ``ip_address``; False once it made more than the limit this minute."""
        return self._count_request(ip_address) <= self._verify_rate_limit()
