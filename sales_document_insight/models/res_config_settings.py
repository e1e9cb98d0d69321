from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------

    sales_target_quotation_weight = fields.Float(
        string="Quotation weight (%)",
        config_parameter="sales_document_insight.quotation_weight",
        default=50.0,
        help="Share of the amount of open quotations counted in a target's forecast.",
    )
    sales_target_pace_tolerance = fields.Float(
        string="Pace tolerance (points)",
        config_parameter="sales_document_insight.pace_tolerance",
        default=10.0,
        help="How far, in percentage points, progress may be from the expected pace and still be on track.",
    )
    sales_rfm_window_days = fields.Integer(
        string="RFM window (days)",
        config_parameter="sales_document_insight.rfm_window_days",
        default=365,
        help="Orders of this many last days make the frequency and monetary scores.",
    )
    sales_rfm_new_days = fields.Integer(
        string="New customer (days)",
        config_parameter="sales_document_insight.rfm_new_days",
        default=90,
        help="A customer whose first order is this recent is new.",
    )
    sales_rfm_risk_days = fields.Integer(
        string="At risk after (days)",
        config_parameter="sales_document_insight.rfm_risk_days",
        default=180,
        help="A customer without an order for this many days is at risk.",
    )
    sales_rfm_lost_days = fields.Integer(
        string="Lost after (days)",
        config_parameter="sales_document_insight.rfm_lost_days",
        default=365,
        help="A customer without an order for this many days is lost.",
    )
