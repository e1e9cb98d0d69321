from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class SalesServiceStage(models.Model):
    """A step of the after-sales process (New, In progress, Done...).

    The ``is_done`` and ``is_cancel`` flags give a request its ``state`` and
    its registry status; the ordering by ``sequence`` is the kanban order.
    """

    _name = "sales.service.stage"
    _description = "Service Stage"
    _order = "sequence, id"

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    fold = fields.Boolean(string="Folded in kanban")
    is_done = fields.Boolean(string="Done stage", help="Requests in this stage are resolved; customers may rate them.")
    is_cancel = fields.Boolean(string="Cancelled stage", help="Requests in this stage are closed without a resolution.")
    active = fields.Boolean(default=True)

    # ------------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------------

    @api.constrains("is_done", "is_cancel")
    def _check_flags(self):
        for stage in self:
            if stage.is_done and stage.is_cancel:
                raise ValidationError(_("A stage cannot be both done and cancelled: %(stage)s", stage=stage.name))
