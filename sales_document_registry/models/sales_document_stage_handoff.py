from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

HANDOFF_STAGES = [
    ("warehouse", "Delivery (after approval and confirmation)"),
    ("invoicing", "Invoicing (after delivery)"),
    ("payment", "Payment follow-up (after posting)"),
]

# Activity type of each hand-off.
HANDOFF_ACTIVITY_TYPES = {
    "warehouse": "sales_document_registry.mail_activity_type_sale_warehouse",
    "invoicing": "sales_document_registry.mail_activity_type_sale_invoicing",
    "payment": "sales_document_registry.mail_activity_type_sale_payment",
}


class SalesDocumentStageHandoff(models.Model):
    """Who takes over a sales document at each stage.

    The most specific rule wins: one for the warehouse (or sales team) of the
    document beats one for its company only. The responsible is a user, or the
    member of a group with the fewest open hand-offs of that stage.
    """

    _name = "sales.document.stage.handoff"
    _description = "Sales Document Stage Hand-off"
    _order = "stage, sequence, id"

    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    stage = fields.Selection(HANDOFF_STAGES, required=True, index=True)
    company_id = fields.Many2one(
        "res.company", string="Company", default=lambda self: self.env.company, index=True,
        help="Leave empty to apply in every company.",
    )
    team_id = fields.Many2one(
        "crm.team", string="Sales team", help="Only for orders of this sales team."
    )
    warehouse_id = fields.Many2one(
        "stock.warehouse", string="Warehouse", help="Only for orders shipped from this warehouse."
    )
    user_id = fields.Many2one("res.users", string="Responsible user")
    group_id = fields.Many2one(
        "res.groups", string="Responsible group",
        help="When no user is set: the member of this group with the fewest open hand-offs.",
    )
    delay_days = fields.Integer(
        string="Due after (days)",
        help="The hand-off activity is due this many days after the stage is reached "
        "(payment follow-ups: after the invoice's due date).",
    )

    # ------------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------------

    @api.constrains("stage", "user_id", "group_id")
    def _check_responsible(self):
        for handoff in self:
            if not handoff.user_id and not handoff.group_id:
                raise ValidationError(_("A hand-off needs a responsible user or group."))

    @api.depends("stage", "team_id", "warehouse_id", "company_id")
    def _compute_display_name(self):
        stages = dict(self._fields["stage"]._description_selection(self.env))
        for handoff in self:
            scope = handoff.warehouse_id.name or handoff.team_id.name or handoff.company_id.name or _("All companies")
            handoff.display_name = f"{stages.get(handoff.stage, '')} – {scope}"

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    @api.model
    def _get_handoff(self, stage, company, team=None, warehouse=None):
        """The most specific hand-off rule of ``stage`` for this scope."""
        # sudo: hand-off rules are configuration, read for any user passing a stage.
        candidates = self.sudo().search([
            ("stage", "=", stage),
            ("company_id", "in", (False, company.id)),
            ("team_id", "in", (False, team.id if team else False)),
            ("warehouse_id", "in", (False, warehouse.id if warehouse else False)),
        ])
        if not candidates:
            return candidates

        def specificity(handoff):
            return (
                bool(handoff.warehouse_id),
                bool(handoff.team_id),
                bool(handoff.company_id),
                -handoff.sequence,
            )

        return max(candidates, key=specificity)

    @api.model
    def _get_responsible(self, stage, company, team=None, warehouse=None):
        """User taking over at ``stage``, or an empty recordset."""
        handoff = self._get_handoff(stage, company, team, warehouse)
        if not handoff:
            return self.env["res.users"]
        if handoff.user_id:
            return handoff.user_id
        members = handoff.group_id.users.filtered(
            lambda u: u.active and not u.share and company in u.company_ids
        )
        if not members:
            return self.env["res.users"]
        activity_type = self.env.ref(HANDOFF_ACTIVITY_TYPES[stage], raise_if_not_found=False)
        load = dict.fromkeys(members.ids, 0)
        if activity_type:
            # sudo: the workload counts every open activity, not only those the user may read.
            groups = self.env["mail.activity"].sudo()._read_group(
                [("activity_type_id", "=", activity_type.id), ("user_id", "in", members.ids)],
                ["user_id"],
                ["__count"],
            )
            for user, count in groups:
                load[user.id] = count
        return members.browse(min(members.ids, key=lambda uid: (load[uid], uid)))

    @api.model
    def _get_delay(self, stage, company, team=None, warehouse=None):
        return self._get_handoff(stage, company, team, warehouse).delay_days or 0
