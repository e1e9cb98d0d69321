from odoo import fields, models


class StockReturnPicking(models.TransientModel):
    _inherit = "stock.return.picking"

    service_request_id = fields.Many2one(
        "sales.service.request",
        string="Service request",
        help="The return is recorded on this request once created.",
    )

    def _create_return(self):
        new_picking = super()._create_return()
        if self.service_request_id:
            # With the user's own rights: whoever cannot change the request
            # cannot link a return to it.
            self.service_request_id._link_return(new_picking)
        return new_picking
