from odoo import _, api, fields, models, tools
from odoo.exceptions import ValidationError
from odoo.tools.safe_eval import safe_eval

from .sales_document_mixin import DOC_TYPE_MODEL, DOC_TYPES, without_auto_tag


class SalesDocumentTagRule(models.Model):
    """Auto-tag rule: documents matching a domain get tags, on creation and change."""

    _name = "sales.document.tag.rule"
    _inherit = ["sales.document.cached.config.mixin"]
    _description = "Sales Document Auto-Tag Rule"
    _order = "sequence, id"

    sequence = fields.Integer(default=10)
    name = fields.Char(required=True, translate=True)
    active = fields.Boolean(default=True)
    doc_type = fields.Selection(DOC_TYPES, string="Document type", required=True)
    res_model = fields.Char(
        string="Model", compute="_compute_res_model", store=True, precompute=True
    )
    domain = fields.Char(default="[]", required=True)
    tag_ids = fields.Many2many("crm.tag", string="Tags", required=True)
    company_id = fields.Many2one("res.company", string="Company")

    @api.depends("doc_type")
    def _compute_res_model(self):
        for rule in self:
            rule.res_model = DOC_TYPE_MODEL.get(rule.doc_type)

    @api.constrains("domain", "doc_type")
    def _check_domain(self):
        for rule in self:
            try:
                self.env[rule.res_model].search_count(rule._get_domain(), limit=1)
            except Exception as exc:
                raise ValidationError(_(
                    "The domain of the auto-tag rule %(rule)s is not valid: %(error)s",
                    rule=rule.name, error=exc,
                )) from exc

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    @api.model
    @tools.ormcache("model_name")
    def _rule_ids_for(self, model_name):
        """Ids of the active rules of ``model_name``.

        Looked up on every write of a sales document: cached, and the cache
        is cleared whenever a rule changes.
        """
        # sudo: rules are configuration: every user's writes apply all of them.
        rules = self.sudo().with_context(active_test=True).search([("res_model", "=", model_name)])
        return tuple(rules.ids)

    def _get_domain(self):
        self.ensure_one()
        return safe_eval(self.domain or "[]", {"uid": self.env.uid})

    @api.model
    def _apply(self, records):
        """Add the tags of every matching rule to ``records`` (never removes)."""
        if not records:
            return
        # sudo: rules are configuration; every user's writes apply all of them.
        rules = self.sudo().browse(self._rule_ids_for(records._name))
        for rule in rules:
            matching = records.filtered(
                lambda r, rule=rule: r._sd_doc_type() == rule.doc_type
                and (not rule.company_id or r.company_id == rule.company_id)
            )
            if matching:
                matching = matching.filtered_domain(rule._get_domain())
            todo = matching.filtered(lambda r, rule=rule: rule.tag_ids - r.tag_ids)
            if todo:
                without_auto_tag(todo).write(
                    {"tag_ids": [(4, tag.id) for tag in rule.tag_ids]}
                )
