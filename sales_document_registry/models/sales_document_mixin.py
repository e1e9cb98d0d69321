import logging

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.osv import expression
from odoo.tools import SQL

from ..tools.server_grant import ServerGrant

_logger = logging.getLogger(__name__)

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

# The stage trail: written by the server only (``_sd_mark_stage``, as superuser).
STAGE_FIELDS = frozenset(
    name for stage, _label in STAGES for name in (f"stage_{stage}_date", f"stage_{stage}_user_id")
)

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


# Grants only server code can give (see tools/server_grant.py):
# - auto-tag rules are not run again by the writes that apply them;
SKIP_AUTO_TAG = ServerGrant("sd_skip_auto_tag")
# - ``archive_reason`` (and ``active`` False) are written only by
#   :meth:`SalesDocumentMixin._sd_archive_with_reason` and the restores;
ARCHIVE_GRANT = ServerGrant("sd_archive_grant")
# - a sales document is deleted only by :meth:`SalesDocumentMixin._sd_unlink_with_reason`
#   (or by server code running as superuser), and by Odoo's own flows that
#   delete the documents they generated.
UNLINK_GRANT = ServerGrant("sd_unlink_grant")

auto_tag_skipped = SKIP_AUTO_TAG.given
without_auto_tag = SKIP_AUTO_TAG.give
archive_granted = ARCHIVE_GRANT.given
with_unlink_grant = UNLINK_GRANT.give


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

    # Set only through "Archive with reason" (see _sd_archive_with_reason).
    archive_reason = fields.Char(
        string="Archive reason",
        readonly=True,
        copy=False,
        tracking=True,
        help="Why the document was archived or cancelled with a reason; cleared when it is restored.",
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

    # Field of sales.document.archive.wizard holding the records of this model.
    _sd_archive_wizard_field = None

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

    def _sd_check_archivable(self):
        """Raise a UserError unless every record of ``self`` may be archived with a reason."""
        raise NotImplementedError()

    def _sd_archive(self):
        """Archive (or cancel) ``self``; called with the archive grant in the context."""
        raise NotImplementedError()

    def _sd_check_deletable(self):
        """Raise a UserError unless every record of ``self`` may be deleted for good."""
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
    # CRUD: no loss by mistake
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        # A document is not born "archived with a reason" (an import column, an RPC value).
        if any("archive_reason" in vals for vals in vals_list) and not self.env.su:
            raise UserError(_(
                "Sales documents are archived only with a reason: use Action > Archive with reason."
            ))
        for vals in vals_list:
            self._sd_check_stage_trail_vals(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._sd_check_stage_trail_vals(vals)
        archiving = "active" in vals and not vals["active"] and "active" in self._fields
        if (
            ("archive_reason" in vals or archiving)
            and not self.env.su
            and not archive_granted(self.env)
        ):
            raise UserError(_(
                "Sales documents are archived only with a reason: use Action > Archive with reason."
            ))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_sd_except_with_reason(self):
        # Odoo's own code deleting documents as superuser goes through; every
        # other deletion of a sales document comes from _sd_unlink_with_reason.
        if self.env.su or UNLINK_GRANT.given(self.env):
            return
        documents = self._sd_sales_documents()
        if documents:
            raise UserError(_(
                "Sales documents are not deleted by mistake (%(documents)s): archive or cancel them "
                "with a reason instead (Action > Archive with reason); they stay restorable. "
                "Administrators delete permanently through the same wizard, with a reason.",
                documents=", ".join(documents[:5].mapped("display_name")),
            ))

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_open_document_flow(self):
        """Show the whole chain of documents around this one (order, deliveries, invoices, payments)."""
        self.ensure_one()
        return self.env["sales.document.flow"]._action_open(self)

    def action_archive_with_reason(self):
        """Open the wizard that archives or cancels (or, for administrators, deletes) with a reason."""
        return {
            "type": "ir.actions.act_window",
            "name": _("Archive with reason"),
            "res_model": "sales.document.archive.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {f"default_{self._sd_archive_wizard_field}": self._sd_sales_documents().ids},
        }

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    @api.model
    def _sd_clean_reason(self, reason):
        reason = (reason or "").strip() if isinstance(reason, str) else ""
        if not reason:
            raise UserError(_("Please give a reason."))
        return reason

    def _sd_check_only_sales_documents(self):
        others = self - self._sd_sales_documents()
        if others:
            raise UserError(_(
                "Only sales documents are archived or deleted with a reason here: %(documents)s",
                documents=", ".join(others[:5].mapped("display_name")),
            ))

    def _sd_archive_with_reason(self, reason):
        """Archive (orders) or cancel (invoices, credit notes, deliveries, payments) with a reason.

        The only way to write ``archive_reason``: the reason is kept on the
        document (tracked in its chatter) and the document stays restorable.
        """
        reason = self._sd_clean_reason(reason)
        self._sd_check_only_sales_documents()
        self._sd_check_archivable()
        granted = ARCHIVE_GRANT.give(self)
        granted.write({"archive_reason": reason})
        for record in self:
            record.message_post(body=_("Archived with a reason: %(reason)s", reason=reason))
        granted._sd_archive()
        return True

    def _sd_unlink_with_reason(self, reason):
        """Delete the documents for good: administrators only, with a reason.

        The reason goes to the customer's chatter and the server log, and is
        written on the document first, so that its last audited snapshot
        holds it.
        """
        reason = self._sd_clean_reason(reason)
        if not self.env.is_system():
            raise AccessError(_("Only administrators can delete sales documents permanently."))
        self._sd_check_only_sales_documents()
        self._sd_check_deletable()
        self._sd_store_deletion_reason(reason)
        for record in self:
            # The document disappears: keep the trace on its customer.
            record.partner_id.commercial_partner_id.message_post(body=_(
                "%(document)s deleted by %(user)s. Reason: %(reason)s",
                document=record.display_name, user=self.env.user.name, reason=reason,
            ))
            _logger.info(
                "%s %s (id %s) deleted by uid %s: %s",
                record._name, record.display_name, record.id, self.env.uid, reason,
            )
        return with_unlink_grant(self).unlink()

    def _sd_store_deletion_reason(self, reason):
        """Put the reason on the documents about to be deleted.

        Stored without a change of its own: the deletion is the change, and
        the last snapshot taken of the documents as they go (the audit
        trail's, where ``archive_reason`` is audited, the backup journal's)
        carries the reason. An ORM write would be audited first, and the
        deletion row would then show the values from before the reason.
        """
        self.flush_recordset(["archive_reason"])
        self.env.cr.execute(SQL(
            "UPDATE %s SET archive_reason = %s WHERE id IN %s",
            SQL.identifier(self._table), reason, tuple(self.ids),
        ))
        self.invalidate_recordset(["archive_reason"])

    def _sd_clear_archive_reason(self, message):
        """Forget the archive reason of restored documents, saying so in their chatter."""
        archived = self.filtered("archive_reason")
        for record in archived:
            record.message_post(body=message)
        ARCHIVE_GRANT.give(archived).write({"archive_reason": False})

    @api.model
    def _sd_check_stage_trail_vals(self, vals):
        """Refuse values of the stage trail from anyone but the server.

        Who passed each stage and when feeds the cycle-time analysis and the
        hand-offs: a client cannot date or attribute a stage itself.
        """
        if self.env.su or STAGE_FIELDS.isdisjoint(vals):
            return
        raise AccessError(_(
            "When a document passed a stage, and who passed it, is recorded by the server "
            "as the stage is passed; it cannot be written (%(fields)s).",
            fields=", ".join(sorted(self._fields[name].string for name in STAGE_FIELDS.intersection(vals))),
        ))

    def _sd_mark_stage(self, stage):
        """Record that ``self`` passed ``stage`` now, by the current user."""
        if not self:
            return
        # sudo: the user passing a stage may not have write access to every
        # document the stage is recorded on (a warehouse user validating a
        # delivery marks its order as delivered): the trail is system data.
        self.sudo().write({
            f"stage_{stage}_date": fields.Datetime.now(),
            f"stage_{stage}_user_id": self.env.uid,
        })

    def _sd_sales_documents(self):
        """The records of ``self`` that are sales documents (all, by default)."""
        return self

    # Auto-tag rules run when a document is created or changed. Each model
    # calls these two hooks at the end of its own ``create`` and ``write``,
    # not from this mixin's: the mixin's CRUD methods run inside Odoo's (they
    # come last in the class hierarchy), before Odoo has finished the record
    # (an invoice's tax lines and totals, for instance), and a rule must see
    # the document as it is saved.

    def _sd_apply_auto_tags(self):
        """Apply the auto-tag rules to the sales documents of ``self`` (new or changed)."""
        if not auto_tag_skipped(self.env):
            self.env["sales.document.tag.rule"]._apply(self._sd_sales_documents())

    def _sd_auto_tag_after_write(self, vals):
        """Apply the auto-tag rules after a write that may change what they match."""
        if not set(vals) <= self._sd_passive_fields():
            self._sd_apply_auto_tags()

    @api.model
    def _sd_passive_fields(self):
        """Fields whose change never makes an auto-tag rule match differently."""
        return {"tag_ids", "message_main_attachment_id"} | {
            name for name in self._fields if name.startswith("stage_")
        }

    def _sd_check_completeness(self, stage):
        """Raise one error listing every blocking gap of ``self`` for ``stage``."""
        self.env["sales.document.rule"]._check_records(self, stage)
