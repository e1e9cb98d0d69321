from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .sales_document_mixin import without_auto_tag


class StockPicking(models.Model):
    _name = "stock.picking"
    _inherit = ["stock.picking", "sales.document.mixin"]

    _sd_archive_wizard_field = "picking_ids"

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
                without_auto_tag(picking).tag_ids |= picking.sale_id.tag_ids
        pickings._sd_apply_auto_tags()
        return pickings

    def write(self, vals):
        res = super().write(vals)
        self._sd_auto_tag_after_write(vals)
        return res

    def unlink(self):
        # Odoo deletes the moves first, and with them the link to the order
        # (sale_id comes from the moves' group): check while it is there.
        self._unlink_sd_except_with_reason()
        return super().unlink()

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

    def action_sd_restore(self):
        """Restore deliveries cancelled with a reason, as new drafts.

        Odoo cannot take a cancelled delivery back to draft: a copy (same
        moves, same order lines) is created in draft and the cancelled one
        stays as the trace. Returns the action opening the new deliveries.
        """
        restorable = self.filtered(lambda p: p.state == "cancel" and p.archive_reason)
        if not self or restorable != self:
            raise UserError(_("Only deliveries cancelled with a reason can be restored here."))
        copies = self.browse()
        for picking in restorable:
            copy = picking.copy()
            copy.message_post(body=_(
                "Restored from %(delivery)s, cancelled with the reason: %(reason)s",
                delivery=picking.name, reason=picking.archive_reason,
            ))
            picking.message_post(body=_("Restored as a new draft: %(delivery)s", delivery=copy.name))
            copies |= copy
        action = {
            "type": "ir.actions.act_window",
            "name": _("Restored deliveries"),
            "res_model": "stock.picking",
            "domain": [("id", "in", copies.ids)],
            "views": [(False, "list"), (False, "form")],
        }
        if len(copies) == 1:
            action.update(res_id=copies.id, views=[(False, "form")])
        return action

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    def _sd_sales_documents(self):
        return self.filtered("sale_id")

    def _sd_check_archivable(self):
        closed = self.filtered(lambda p: p.state in ("done", "cancel"))
        if closed:
            raise UserError(_(
                "Only deliveries not yet done or cancelled can be cancelled with a reason: %(deliveries)s",
                deliveries=", ".join(closed.mapped("name")),
            ))

    def _sd_archive(self):
        self.action_cancel()

    def _sd_check_deletable(self):
        done = self.filtered(lambda p: p.state == "done")
        if done:
            raise UserError(_(
                "Done deliveries are never deleted; return the goods instead: %(deliveries)s",
                deliveries=", ".join(done.mapped("name")),
            ))

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
