from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools.safe_eval import safe_eval

from .sales_document_mixin import DOC_TYPE_MODEL, DOC_TYPE_STAGE, DOC_TYPES, RULE_STAGES


class SalesDocumentRule(models.Model):
    """A completeness rule: a field a document needs before a transition.

    Blocking rules stop the transition on the server, whatever the path
    (button, RPC, import, code); warnings show on the document and in the
    "Incomplete" filter.
    """

    _name = "sales.document.rule"
    _description = "Sales Document Completeness Rule"
    _order = "doc_type, sequence, id"

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------

    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    doc_type = fields.Selection(DOC_TYPES, string="Document type", required=True)
    res_model = fields.Char(
        string="Model", compute="_compute_res_model", store=True, precompute=True
    )
    stage = fields.Selection(
        RULE_STAGES,
        compute="_compute_stage",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
        help="The transition this rule guards.",
    )
    field_id = fields.Many2one(
        "ir.model.fields",
        string="Field",
        required=True,
        ondelete="cascade",
        domain="[('model', '=', res_model), ('store', '=', True)]",
    )
    severity = fields.Selection(
        [("warn", "Warning"), ("block", "Blocking")], required=True, default="block"
    )
    company_id = fields.Many2one(
        "res.company", string="Company", help="Leave empty to apply to every company."
    )
    applies_domain = fields.Char(
        string="Applies to",
        help="Only documents matching this domain need the field (empty: all documents).",
    )
    note = fields.Char(string="Hint", translate=True, help="Shown to users with the missing field.")

    _sql_constraints = [
        (
            "field_stage_company_uniq",
            "unique(doc_type, field_id, stage, company_id)",
            "There is already a rule for this field, stage and company.",
        ),
    ]

    # ------------------------------------------------------------------
    # Compute
    # ------------------------------------------------------------------

    @api.depends("doc_type")
    def _compute_res_model(self):
        for rule in self:
            rule.res_model = DOC_TYPE_MODEL.get(rule.doc_type)

    @api.depends("doc_type")
    def _compute_stage(self):
        for rule in self:
            rule.stage = DOC_TYPE_STAGE.get(rule.doc_type)

    @api.depends("doc_type", "field_id", "stage")
    def _compute_display_name(self):
        doc_labels = dict(self._fields["doc_type"]._description_selection(self.env))
        stage_labels = dict(self._fields["stage"]._description_selection(self.env))
        for rule in self:
            rule.display_name = _(
                "%(doc)s: %(field)s before %(stage)s",
                doc=doc_labels.get(rule.doc_type, ""),
                field=rule.field_id.field_description or "",
                stage=(stage_labels.get(rule.stage) or "").lower(),
            )

    # ------------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------------

    @api.constrains("doc_type", "stage", "field_id", "applies_domain")
    def _check_consistency(self):
        for rule in self:
            if rule.stage != DOC_TYPE_STAGE[rule.doc_type]:
                raise ValidationError(_(
                    "A rule for %(doc)s must guard the %(stage)s stage.",
                    doc=dict(DOC_TYPES)[rule.doc_type],
                    stage=dict(RULE_STAGES)[DOC_TYPE_STAGE[rule.doc_type]],
                ))
            if rule.field_id.model != rule.res_model:
                raise ValidationError(_(
                    "The field %(field)s does not belong to %(model)s.",
                    field=rule.field_id.field_description, model=rule.res_model,
                ))
            if rule.applies_domain:
                try:
                    self.env[rule.res_model].search_count(rule._get_applies_domain(), limit=1)
                except Exception as exc:
                    raise ValidationError(_(
                        "The domain of the rule is not valid: %(error)s", error=exc
                    )) from exc

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    def _get_applies_domain(self):
        self.ensure_one()
        return safe_eval(self.applies_domain or "[]", {"uid": self.env.uid})

    @api.model
    def _get_rules(self, doc_type, stage, company=None):
        """Active rules for a document type and stage (all companies if none given)."""
        domain = [("doc_type", "=", doc_type), ("stage", "=", stage)]
        if company is not None:
            domain.append(("company_id", "in", (False, company.id)))
        # sudo: rules are configuration; every document is checked against all of them.
        return self.sudo().search(domain)

    @api.model
    def _get_missing(self, record, stage):
        """Return ``[(label, severity label), ...]`` for what ``record`` lacks."""
        severity_labels = dict(self._fields["severity"]._description_selection(self.env))
        missing = []
        for rule in self._get_rules(record._sd_doc_type(), stage, record.company_id):
            if not rule._applies_to(record) or record[rule.field_id.name]:
                continue
            missing.append((rule._field_label(record), severity_labels[rule.severity]))
        return missing

    def _applies_to(self, record):
        self.ensure_one()
        return not self.applies_domain or bool(record.filtered_domain(self._get_applies_domain()))

    def _field_label(self, record):
        self.ensure_one()
        field = record._fields[self.field_id.name]
        return field.get_description(self.env)["string"]

    @api.model
    def _check_records(self, records, stage):
        """Raise one translated error listing every blocking gap of ``records``.

        Nothing has been written when this raises: callers run it before the
        transition they guard.
        """
        problems = []
        # One rule lookup per document type and company, not one per record.
        blocking = {}
        for record in records:
            key = (record._sd_doc_type(), record.company_id.id)
            if key not in blocking:
                blocking[key] = self._get_rules(key[0], stage, record.company_id).filtered(
                    lambda rule: rule.severity == "block"
                )
            labels = [
                rule._field_label(record)
                for rule in blocking[key]
                if rule._applies_to(record) and not record[rule.field_id.name]
            ]
            if labels:
                problems.append(_(
                    "%(document)s is missing: %(fields)s",
                    document=record.display_name,
                    fields=", ".join(labels),
                ))
        if problems:
            stage_label = dict(self._fields["stage"]._description_selection(self.env))[stage]
            raise UserError(
                _("%(stage)s is not possible until these fields are filled in:", stage=stage_label)
                + "\n" + "\n".join(f"- {p}" for p in problems)
            )
