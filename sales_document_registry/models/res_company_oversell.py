from odoo import fields, models

OVERSELL_MODES = [
    ("off", "Off"),
    ("warn", "Warn"),
    ("block", "Block"),
    ("approval", "Needs approval"),
]


class ResCompany(models.Model):
    _inherit = "res.company"

    sales_oversell_mode = fields.Selection(
        OVERSELL_MODES,
        string="Overselling",
        default="off",
        required=True,
        help="What happens when confirming an order asks for more than the free quantity "
        "of a product in its warehouse: nothing (Off), a note in the order's history (Warn), "
        "a refusal a sales manager can override with a reason (Block), or a refusal until "
        "the shortage is approved (Needs approval).",
    )
    sales_recon_delivery_days = fields.Integer(
        string="Invoiced but not delivered after (days)",
        default=30,
        help="An order invoiced this many days ago whose goods are still not delivered "
        "is listed as a reconciliation exception.",
    )

    _sql_constraints = [
        ("sales_recon_delivery_days_positive", "CHECK(sales_recon_delivery_days >= 0)",
         "The number of days before an undelivered invoice is flagged cannot be negative."),
    ]
