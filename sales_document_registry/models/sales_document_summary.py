from odoo import api, fields, models

from ..tools import registry_store
from .sales_document import STATES
from .sales_document_mixin import DOC_TYPES


class SalesDocumentSummary(models.Model):
    """Monthly roll-up of the registry: document count and amount per key.

    Kept by database triggers on the registry table (see
    ``tools/registry_store.py``) as append-only deltas, folded by a scheduled
    compaction. The registry answers whole-registry pivots from here (see
    :meth:`SalesDocument._read_group`); nobody reads it directly.
    """

    _name = "sales.document.summary"
    _description = "Sales Document Monthly Summary"
    _auto = False
    _table = registry_store.STAT_TABLE
    _rec_name = "doc_type"
    _order = "month desc, id desc"

    company_id = fields.Many2one("res.company", readonly=True)
    res_model = fields.Char(string="Model", readonly=True)
    doc_type = fields.Selection(DOC_TYPES, string="Type", readonly=True)
    state = fields.Selection(STATES, string="Status", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    active = fields.Boolean(readonly=True)
    partner_user_id = fields.Many2one("res.users", string="Customer's Salesperson", readonly=True)
    by_customer = fields.Boolean(
        string="Per customer's salesperson",
        readonly=True,
        help="Rows per customer's salesperson (instead of the document's), of the documents whose customer's "
        "salesperson is another user.",
    )
    month = fields.Date(readonly=True)
    doc_count = fields.Integer(string="Documents", readonly=True, aggregator="sum")
    amount_total = fields.Float(string="Amount", readonly=True, aggregator="sum")

    @api.model
    def _cron_compact(self):
        """Fold the deltas written since the last run into one row per key."""
        return registry_store.compact_stat(self.env.cr)
