from odoo import api, models


class StockPicking(models.Model):
    """State machine of transfers.

    Odoo computes a transfer's ``state`` from its moves and never writes it:
    a write or import of ``state`` is refused outside a guarded transition,
    and a transfer is created in draft.
    """

    _inherit = "stock.picking"

    @api.model_create_multi
    def create(self, vals_list):
        self._sd_check_state_create(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        self._sd_check_state_write(vals)
        return super().write(vals)

