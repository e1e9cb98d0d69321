from odoo import fields, models


class RepairOrder(models.Model):
    _inherit = "repair.order"

    service_request_id = fields.Many2one(
        "sales.service.request", string="Service request", index=True, copy=False, check_company=True,
        help="The after-sales request this repair resolves.",
    )
