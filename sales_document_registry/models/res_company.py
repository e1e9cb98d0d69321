from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    sales_duplicate_days = fields.Integer(
        string="Likely duplicates within (days)",
        default=7,
        help="Orders of the same customer with the same products and quantities, "
        "placed within this many days of each other, are flagged as likely duplicates.",
    )
    sales_duplicate_tolerance = fields.Float(
        string="Likely duplicate amount tolerance (%)",
        default=5.0,
        help="Their totals may differ by at most this percentage.",
    )

    _sql_constraints = [
        ("sales_duplicate_days_positive", "CHECK(sales_duplicate_days >= 0)",
         "The likely-duplicate window cannot be negative."),
        ("sales_duplicate_tolerance_positive", "CHECK(sales_duplicate_tolerance >= 0)",
         "The likely-duplicate tolerance cannot be negative."),
    ]
