from odoo import _, api, models
from odoo.exceptions import UserError

from .sales_document_state import in_state_transition, with_state_transition


class StockMove(models.Model):
    """A move becomes done, or stops being done, only by being processed.

    A transfer's state follows its moves: writing ``done`` on the moves would
    mark the delivery done without the delivery's checks and without moving
    the stock.
    """

    _inherit = "stock.move"

    @api.model_create_multi
    def create(self, vals_list):
        default = self.env.context.get("default_state")
        if not in_state_transition(self.env) and any(
            vals.get("state", default) == "done" for vals in vals_list
        ):
            self._sd_raise_done_error()
        return super().create(vals_list)

    def write(self, vals):
        if "state" in vals and self and not in_state_transition(self.env):
            states = set(self.mapped("state"))
            if ("done" in states or vals["state"] == "done") and states != {vals["state"]}:
                self._sd_raise_done_error()
        return super().write(vals)

    def _action_done(self, cancel_backorder=False):
        moves = super(StockMove, with_state_transition(self))._action_done(cancel_backorder=cancel_backorder)
        return moves.with_env(self.env)

    @api.model
    def _sd_raise_done_error(self):
        raise UserError(_(
            "A stock move becomes done only when its transfer is validated, and stays done."
        ))
