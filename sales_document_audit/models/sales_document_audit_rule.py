from odoo import _, api, fields, models, tools
from odoo.exceptions import ValidationError

from . import salesman_rules
from .sales_document_audit_mixin import PROFILES_KEY

# Models whose changes the audit trail captures.
AUDITED_MODELS = (
    "sale.order",
    "sale.order.line",
    "stock.picking",
    "stock.move",
    "account.move",
    "account.move.line",
    "account.payment",
)

# The document models among them (lines roll up to these).
DOCUMENT_MODELS = ("sale.order", "stock.picking", "account.move", "account.payment")


class SalesDocumentAuditRule(models.Model):
    """Which fields of a sales document model the audit trail records.

    One active rule per model; without one, the model's built-in defaults
    apply. Changing a rule takes effect for the next transaction.
    """

    _name = "sales.document.audit.rule"
    _inherit = ["sales.document.cached.config.mixin"]
    _description = "Audit Rule"
    _order = "model_id"

    name = fields.Char(related="model_id.name", string="Document model")
    model_id = fields.Many2one(
        "ir.model",
        string="Model",
        required=True,
        ondelete="cascade",
        domain=lambda self: [("model", "in", self._get_audited_models())],
    )
    model = fields.Char(related="model_id.model", store=True, string="Technical name")
    field_ids = fields.Many2many(
        "ir.model.fields",
        "sales_document_audit_rule_field_rel",
        "rule_id",
        "field_id",
        string="Audited fields",
        domain="[('model_id', '=', model_id), ('store', '=', True)]",
    )
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ("model_unique", "unique(model_id)", "There is already an audit rule for this model."),
    ]

    @api.model
    def _config_changed(self):
        result = super()._config_changed()
        # The capture's copy of the audit profiles, kept for the transaction.
        self.env.cr.precommit.data.pop(PROFILES_KEY, None)
        return result

    @api.constrains("model_id")
    def _check_model(self):
        for rule in self:
            if rule.model_id.model not in self._get_audited_models():
                raise ValidationError(_(
                    "The model %(model)s is not a sales document model.", model=rule.model_id.name
                ))

    @api.model
    @tools.ormcache("model_name")
    def _get_audited_fields(self, model_name):
        """Frozenset of the audited stored field names of ``model_name``."""
        if model_name not in self.env:
            return frozenset()
        Model = self.env[model_name]
        self.env.cr.execute(
            "SELECT f.name FROM sales_document_audit_rule r"
            " JOIN ir_model m ON m.id = r.model_id"
            " JOIN sales_document_audit_rule_field_rel rel ON rel.rule_id = r.id"
            " JOIN ir_model_fields f ON f.id = rel.field_id"
            " WHERE r.active AND m.model = %s",
            (model_name,),
        )
        names = {row[0] for row in self.env.cr.fetchall()}
        if not names:
            self.env.cr.execute(
                "SELECT 1 FROM sales_document_audit_rule r JOIN ir_model m ON m.id = r.model_id"
                " WHERE r.active AND m.model = %s",
                (model_name,),
            )
            if not self.env.cr.fetchone():
                names = set(getattr(Model, "_audit_default_fields", ()))
        return frozenset(
            name for name in names if name in Model._fields and Model._fields[name].store
        )

    @api.model
    def _get_audited_models(self):
        """The models an audit rule may configure: the built-in ones, then
        every other model that joins the capture through the audit mixin
        (addons adding a document type install their rule by calling
        ``_install_default_rules`` from their data)."""
        mixin = self.env.registry["sales.document.audit.mixin"]
        others = sorted(
            name for name, model in self.env.registry.items()
            if name not in AUDITED_MODELS and not model._abstract and issubclass(model, mixin)
        )
        return (*AUDITED_MODELS, *others)

    @api.model
    def _apply_salesman_rules(self):
        """Restrict Odoo's salesperson rules to the salesperson's own customers."""
        salesman_rules.apply_salesman_rules(self.env, strict=True)

    @api.model
    def _install_default_rules(self):
        """One rule per audited model, filled with the model's defaults."""
        for model_name in self._get_audited_models():
            model = self.env["ir.model"]._get(model_name)
            if self.with_context(active_test=False).search_count([("model_id", "=", model.id)]):
                continue
            names = getattr(self.env[model_name], "_audit_default_fields", ())
            field_records = self.env["ir.model.fields"].search([
                ("model_id", "=", model.id), ("name", "in", list(names)), ("store", "=", True),
            ])
            self.create({"model_id": model.id, "field_ids": [fields.Command.set(field_records.ids)]})
