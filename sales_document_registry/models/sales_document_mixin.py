from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.osv import expression

# Stages every sales document may pass, in process order. Each gets a
# ``stage_<key>_date`` and ``stage_<key>_user_id`` field on every document.
STAGES = [
    ("review_requested", "Review requested"),
    ("approved", "Approved"),
    ("confirmed", "Confirmed"),
    ("delivered", "Delivered"),
    ("invoiced", "Invoiced"),
    ("paid", "Paid"),
    ("cancelled", "Cancelled"),
]

DOC_TYPES = [
    ("order", "Sales Order"),
    ("delivery", "Delivery"),
    ("invoice", "Invoice"),
    ("credit_note", "Credit Note"),
    ("payment", "Payment"),
]

DOC_TYPE_MODEL = {
    "order": "sale.order",
    "delivery": "stock.picking",
    "invoice": "account.move",
    "credit_note": "account.move",
    "payment": "account.payment",
}

# The transition each completeness stage guards, per document type.
RULE_STAGES = [
    ("confirm", "Confirmation"),
    ("deliver", "Delivery validation"),
    ("post", "Posting"),
    ("pay", "Payment posting"),
]

DOC_TYPE_STAGE = {
    "order": "confirm",
    "delivery": "deliver",
    "invoice": "post",
    "credit_note": "post",
    "payment": "pay",
}


class SalesDocumentMixin(models.AbstractModel):
    """Behaviour shared by the five kinds of sales document.

    Each concrete model tells which registry type a record is
    (:meth:`_sd_doc_type`) and which of its records still wait for the
    transition a completeness rule guards (:meth:`_sd_pending_domain`). The
    mixin provides the stage trail, the completeness warnings and the server
    side completeness check.
    """

    _name = "sales.document.mixin"
    _description = "Sales Document Behaviour"

    # Stage trail: when each stage was passed, and by whom.
    stage_review_requested_date = fields.Datetime(string="Review requested on", readonly=True, copy=False)
    stage_review_requested_user_id = fields.Many2one(
        "res.users", string="Review requested by", readonly=True, copy=False
    )
    stage_approved_date = fields.Datetime(string="Approved on", readonly=True, copy=False)
    stage_approved_user_id = fields.Many2one(
        "res.users", string="Approved by", readonly=True, copy=False
    )
    stage_confirmed_date = fields.Datetime(string="Confirmed on", readonly=True, copy=False)
    stage_confirmed_user_id = fields.Many2one(
        "res.users", string="Confirmed by", readonly=True, copy=False
    )
    stage_delivered_date = fields.Datetime(string="Delivered on", readonly=True, copy=False)
    stage_delivered_user_id = fields.Many2one(
        "res.users", string="Delivered by", readonly=True, copy=False
    )
    stage_invoiced_date = fields.Datetime(string="Invoiced on", readonly=True, copy=False)
    stage_invoiced_user_id = fields.Many2one(
        "res.users", string="Invoiced by", readonly=True, copy=False
    )
    stage_paid_date = fields.Datetime(string="Paid on", readonly=True, copy=False)
    stage_paid_user_id = fields.Many2one(
        "res.users", string="Paid by", readonly=True, copy=False
    )
    stage_cancelled_date = fields.Datetime(string="Cancelled on", readonly=True, copy=False)
    stage_cancelled_user_id = fields.Many2one(
        "res.users", string="Cancelled by", readonly=True, copy=False
    )

    sd_completeness_warning = fields.Text(
        string="Missing information",
        compute="_compute_sd_completeness",
        help="Fields the completeness rules expect before the next stage.",
    )
    sd_incomplete = fields.Boolean(
        string="Incomplete",
        compute="_compute_sd_completeness",
        search="_search_sd_incomplete",
    )

    # ------------------------------------------------------------------
    # Hooks for the concrete models
    # ------------------------------------------------------------------

    def _sd_doc_type(self):
        """Return the registry document type of this record (one record)."""
        raise NotImplementedError()

    @api.model
    def _sd_doc_types(self):
        """Return the registry document types this model stores."""
        raise NotImplementedError()

    @api.model
    def _sd_pending_domain(self, doc_type):
        """Domain of the records of ``doc_type`` that have not passed the stage yet."""
        raise NotImplementedError()

    # ------------------------------------------------------------------
    # Compute / search
    # ------------------------------------------------------------------

    @api.depends("state")
    def _compute_sd_completeness(self):
        Rule = self.env["sales.document.rule"]
        for record in self:
            missing = []
            if record.id and record.filtered_domain(
                self._sd_pending_domain(record._sd_doc_type())
            ):
                missing = Rule._get_missing(record, DOC_TYPE_STAGE[record._sd_doc_type()])
            record.sd_incomplete = bool(missing)
            record.sd_completeness_warning = "\n".join(
                _("%(field)s (%(severity)s)", field=label, severity=severity)
                for label, severity in missing
            ) or False

    def _search_sd_incomplete(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(_("Unsupported search on the Incomplete filter."))
        Rule = self.env["sales.document.rule"]
        domains = []
        for doc_type in self._sd_doc_types():
            missing = []
            for rule in Rule._get_rules(doc_type, DOC_TYPE_STAGE[doc_type]):
                leaf = [(rule.field_id.name, "=", False)]
                if rule.applies_domain:
                    leaf = expression.AND([leaf, rule._get_applies_domain()])
                missing.append(leaf)
            if missing:
                domains.append(expression.AND([
                    self._sd_type_domain(doc_type),
                    self._sd_pending_domain(doc_type),
                    expression.OR(missing),
                ]))
        domain = expression.OR(domains) if domains else expression.FALSE_DOMAIN
        if (operator == "=") != value:
            domain = ["!"] + domain if domains else expression.TRUE_DOMAIN
        return domain

    @api.model
    def _sd_type_domain(self, doc_type):
        """Domain selecting the records of one registry type in this model."""
        return []

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    def _sd_mark_stage(self, stage):
        """Record that ``self`` passed ``stage`` now, by the current user."""
        if not self:
            return
        # The user passing a stage may not have write access to every
        # document the stage is recorded on (a warehouse user validating a
        # delivery marks its order as delivered): the trail is system data.
        self.sudo().write({
            f"stage_{stage}_date": fields.Datetime.now(),
            f"stage_{stage}_user_id": self.env.uid,
        })

    def _sd_sales_documents(self):
        """The records of ``self`` that are sales documents (all, by default)."""
        return self

    def _sd_auto_tag_after_write(self, vals):
        """Apply the auto-tag rules after a write that may change what they match."""
        if (
            self.env.context.get("sd_skip_auto_tag")
            or "tag_ids" in vals
            or all(name.startswith("stage_") for name in vals)
        ):
            return
        self.env["sales.document.tag.rule"]._apply(self._sd_sales_documents())

    def _sd_check_completeness(self, stage):
        """Raise one error listing every blocking gap of ``self`` for ``stage``."""
        self.env["sales.document.rule"]._check_records(self, stage)
