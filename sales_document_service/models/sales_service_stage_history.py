from odoo import api, fields, models


class SalesServiceStageHistory(models.Model):
    """One stay of a request in a stage: when it entered, left, and who moved it."""

    _name = "sales.service.stage.history"
    _description = "Service Stage History"
    _order = "date_in, id"

    request_id = fields.Many2one("sales.service.request", required=True, ondelete="cascade", index=True)
    stage_id = fields.Many2one("sales.service.stage", required=True, ondelete="restrict")
    company_id = fields.Many2one(related="request_id.company_id", store=True)
    user_id = fields.Many2one("res.users", string="Moved by", readonly=True)
    date_in = fields.Datetime(string="Entered", required=True, readonly=True)
    date_out = fields.Datetime(string="Left", readonly=True)
    duration_hours = fields.Float(string="Hours in stage", compute="_compute_duration_hours", store=True)

    @api.depends("date_in", "date_out")
    def _compute_duration_hours(self):
        for stay in self:
            if stay.date_in and stay.date_out:
                stay.duration_hours = (stay.date_out - stay.date_in).total_seconds() / 3600.0
            else:
                stay.duration_hours = 0.0
