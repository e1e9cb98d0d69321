from odoo import api, fields, models


class StockPicking(models.Model):
    _name = "stock.picking"
    _inherit = ["stock.picking", "sales.document.mixin"]

    tag_ids = fields.Many2many(
        "crm.tag",
        "stock_picking_crm_tag_rel",
        "picking_id",
        "tag_id",
        string="Tags",
        copy=True,
    )
    sd_commercial_partner_id = fields.Many2one(
        "res.partner",
        string="Commercial customer",
        related="partner_id.commercial_partner_id",
        store=True,
        index=True,
    )
    # The order's salesperson and team, stored so that the registry needs no join.
    sd_user_id = fields.Many2one(
        "res.users", string="Salesperson", related="sale_id.user_id", store=True, index="btree_not_null",
        tracking=False,
    )
    sd_team_id = fields.Many2one(
        "crm.team", string="Sales Team", related="sale_id.team_id", store=True, tracking=False
    )
    sd_amount_total = fields.Monetary(
        string="Value",
        compute="_compute_sd_amount_total",
        store=True,
        currency_field="sd_currency_id",
        help="Value of the goods at the order's prices, before taxes.",
    )
    sd_currency_id = fields.Many2one(
        "res.currency", compute="_compute_sd_amount_total", store=True, string="Order currency"
    )

    # ------------------------------------------------------------------
    # Compute
    # ------------------------------------------------------------------

    @api.depends(
        "move_ids.product_uom_qty",
        "move_ids.quantity",
        "move_ids.state",
        "move_ids.sale_line_id.price_reduce_taxexcl",
        "sale_id.currency_id",
    )
    def _compute_sd_amount_total(self):
        for picking in self:
            total = 0.0
            for move in picking.move_ids:
                line = move.sale_line_id
                if not line or move.state == "cancel":
                    continue
                qty = move.quantity if move.state == "done" else move.product_uom_qty
                qty = move.product_uom._compute_quantity(qty, line.product_uom, round=False)
                total += qty * line.price_reduce_taxexcl
            picking.sd_amount_total = total
            picking.sd_currency_id = picking.sale_id.currency_id or picking.company_id.currency_id

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        pickings = super().create(vals_list)
        for picking in pickings.filtered("sale_id"):
            if picking.sale_id.tag_ids - picking.tag_ids:
                picking.with_context(sd_skip_auto_tag=True).tag_ids |= picking.sale_id.tag_ids
        if not self.env.context.get("sd_skip_auto_tag"):
            self.env["sales.document.tag.rule"]._apply(pickings.filtered("sale_id"))
        return pickings

    def write(self, vals):
        res = super().write(vals)
        self._sd_auto_tag_after_write(vals)
        return res

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_confirm(self):
        res = super().action_confirm()
        self.filtered("sale_id")._sd_mark_stage("confirmed")
        return res

    def _action_done(self):
        sales = self.filtered(lambda p: p.sale_id and p.picking_type_code in ("outgoing", "incoming"))
        sales._sd_check_completeness("deliver")
        res = super()._action_done()
        done = sales.filtered(lambda p: p.state == "done")
        done._sd_mark_stage("delivered")
        done.sale_id._sd_update_delivered_stage()
        return res

    def action_cancel(self):
        res = super().action_cancel()
        self.filtered("sale_id")._sd_mark_stage("cancelled")
        return res

    def action_open_document_flow(self):
        """Show the whole chain of documents around this delivery."""
        self.ensure_one()
        return self.env["sales.document.flow"].action_open(self)

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    def _sd_sales_documents(self):
        return self.filtered("sale_id")

    def _sd_doc_type(self):
        return "delivery"

    @api.model
    def _sd_doc_types(self):
        return ["delivery"]

    @api.model
    def _sd_type_domain(self, doc_type):
        return [("sale_id", "!=", False)]

    @api.model
    def _sd_pending_domain(self, doc_type):
        return [("state", "not in", ("done", "cancel"))]
