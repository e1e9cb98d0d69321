from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.osv import expression

from .sales_service_level import REQUEST_TYPES

# Written only by the server: the customer's rating (through Odoo's rating
# machinery) and the state derived from the stage. Neither a client's write
# nor an import may set them.
PROTECTED_FIELDS = frozenset({"rating", "rating_comment", "rating_date", "state", "stage_history_ids", "date_closed"})
# What a customer (portal user) may give when filing a request; the rest
# (responsible, stage, deadline...) is the company's to decide.
PORTAL_FIELDS = frozenset({
    "partner_id", "contact_id", "sale_order_id", "picking_id", "invoice_id", "product_ids",
    "request_type", "description",
})


class SalesServiceRequest(models.Model):
    """An after-sales service request: a complaint, return, repair or question.

    It concerns a customer and, optionally, one of their orders, deliveries,
    invoices and products. It moves through stages (each stay recorded with
    its times), is due by the service level of its type, and is rated by the
    customer once done. It is a document of the sales registry (doc_type
    ``service``), audited and journaled like the other sales documents.
    """

    _name = "sales.service.request"
    _description = "Service Request"
    # rating.mixin brings mail.thread (listing both would break the MRO).
    _inherit = [
        "portal.mixin",
        "mail.activity.mixin",
        "rating.mixin",
        "sales.document.audit.mixin",
    ]
    _order = "priority desc, date_request desc, id desc"
    # Whoever reads a request may write in its chatter: customers follow up
    # on their requests from the portal without any right to change them.
    _mail_post_access = "read"
    _check_company_auto = True

    _audit_default_fields = (
        "name", "partner_id", "contact_id", "sale_order_id", "picking_id", "invoice_id", "product_ids",
        "request_type", "description", "user_id", "team_id", "stage_id", "state", "priority",
        "date_deadline", "tag_ids", "rating", "rating_comment", "company_id", "active",
    )
    _audit_status_fields = ("stage_id", "state", "rating", "rating_comment", "rating_date")
    _audit_validation_fields = ("state",)

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------

    name = fields.Char(string="Number", required=True, copy=False, readonly=True, default=lambda self: _("New"))
    company_id = fields.Many2one(
        "res.company", string="Company", required=True, index=True, default=lambda self: self.env.company
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        tracking=True,
        check_company=True,
        help="The commercial partner (company) the request is about.",
    )
    contact_id = fields.Many2one(
        "res.partner", string="Contact", check_company=True, help="The person who filed or follows the request."
    )
    sale_order_id = fields.Many2one(
        "sale.order",
        string="Sales Order",
        index=True,
        tracking=True,
        check_company=True,
        domain="[('partner_id.commercial_partner_id', '=', partner_id)]",
    )
    picking_id = fields.Many2one(
        "stock.picking",
        string="Delivery",
        index=True,
        check_company=True,
        domain="[('sale_id', '=', sale_order_id), ('picking_type_code', '=', 'outgoing')]",
    )
    invoice_id = fields.Many2one(
        "account.move",
        string="Invoice",
        index=True,
        check_company=True,
        domain="[('move_type', 'in', ('out_invoice', 'out_refund')), ('commercial_partner_id', '=', partner_id)]",
    )
    product_ids = fields.Many2many(
        "product.product",
        "sales_service_request_product_rel",
        "request_id",
        "product_id",
        string="Products",
        check_company=True,
    )
    return_picking_ids = fields.Many2many(
        "stock.picking",
        "sales_service_request_return_rel",
        "request_id",
        "picking_id",
        string="Returns",
        copy=False,
        check_company=True,
    )
    return_count = fields.Integer(compute="_compute_return_count")
    request_type = fields.Selection(REQUEST_TYPES, string="Type", required=True, default="complaint", tracking=True)
    description = fields.Text()
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        index=True,
        tracking=True,
        domain="[('share', '=', False), ('company_ids', 'in', company_id)]",
    )
    team_id = fields.Many2one("crm.team", string="Sales Team", index=True, check_company=True)
    stage_id = fields.Many2one(
        "sales.service.stage",
        string="Stage",
        required=True,
        index=True,
        tracking=True,
        copy=False,
        ondelete="restrict",
        default=lambda self: self._default_stage_id(),
        group_expand="_read_group_expand_stage_ids",
    )
    state = fields.Selection(
        [("open", "Open"), ("done", "Done"), ("cancelled", "Cancelled")],
        string="Status",
        compute="_compute_state",
        store=True,
        index=True,
    )
    priority = fields.Selection(
        [("0", "Normal"), ("1", "Important"), ("2", "Urgent"), ("3", "Critical")], default="0", index=True
    )
    date_request = fields.Datetime(string="Filed on", required=True, default=fields.Datetime.now, copy=False)
    date_deadline = fields.Datetime(
        string="Deadline",
        compute="_compute_date_deadline",
        store=True,
        readonly=False,
        precompute=True,
        tracking=True,
        help="Filing time plus the service level of the request type.",
    )
    date_closed = fields.Datetime(string="Closed on", readonly=True, copy=False)
    is_overdue = fields.Boolean(string="Overdue", compute="_compute_is_overdue", search="_search_is_overdue")
    tag_ids = fields.Many2many(
        "crm.tag", "sales_service_request_crm_tag_rel", "request_id", "tag_id", string="Tags"
    )
    stage_history_ids = fields.One2many(
        "sales.service.stage.history", "request_id", string="Stage history", readonly=True
    )
    rating = fields.Integer(
        string="Customer rating",
        compute="_compute_rating",
        store=True,
        aggregator="avg",
        help="The customer's last rating of the service (1 to 5; 0 when not rated).",
    )
    rating_comment = fields.Text(string="Rating comment", compute="_compute_rating", store=True)
    rating_date = fields.Datetime(string="Rated on", compute="_compute_rating", store=True)
    active = fields.Boolean(default=True)

    # ------------------------------------------------------------------
    # Defaults
    # ------------------------------------------------------------------

    @api.model
    def _default_stage_id(self):
        return self.env["sales.service.stage"].search([], limit=1)

    @api.model
    def _read_group_expand_stage_ids(self, stages, domain):
        return stages.search([])

    # ------------------------------------------------------------------
    # Compute / search
    # ------------------------------------------------------------------

    @api.depends("stage_id.is_done", "stage_id.is_cancel")
    def _compute_state(self):
        for request in self:
            if request.stage_id.is_cancel:
                request.state = "cancelled"
            elif request.stage_id.is_done:
                request.state = "done"
            else:
                request.state = "open"

    @api.depends("request_type", "company_id", "date_request")
    def _compute_date_deadline(self):
        Level = self.env["sales.service.level"]
        for request in self:
            level = Level._find_level(request.request_type, request.company_id or self.env.company)
            if level and request.date_request:
                request.date_deadline = request.date_request + level._get_delta()
            else:
                request.date_deadline = False

    @api.depends("date_deadline", "state")
    def _compute_is_overdue(self):
        now = fields.Datetime.now()
        for request in self:
            request.is_overdue = bool(
                request.state == "open" and request.date_deadline and request.date_deadline < now
            )

    def _search_is_overdue(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(_("Unsupported search on the overdue flag."))
        overdue = [("state", "=", "open"), ("date_deadline", "<", fields.Datetime.now())]
        return overdue if (operator == "=") == value else expression.distribute_not(["!", *expression.normalize_domain(overdue)])

    @api.depends("rating_ids.rating", "rating_ids.consumed", "rating_ids.feedback")
    def _compute_rating(self):
        for request in self:
            ratings = request.rating_ids.filtered("consumed").sorted(
                lambda r: (r.write_date or r.create_date, r.id), reverse=True
            )
            last = ratings[:1]
            request.rating = round(last.rating) if last else 0
            request.rating_comment = last.feedback or False
            request.rating_date = last.write_date or False

    @api.depends("return_picking_ids")
    def _compute_return_count(self):
        for request in self:
            request.return_count = len(request.return_picking_ids)

    def _compute_access_url(self):
        # Replaces portal.mixin's placeholder URL.
        for request in self:
            request.access_url = f"/my/service/{request.id}"

    # ------------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------------

    @api.constrains("partner_id", "sale_order_id", "picking_id", "invoice_id", "contact_id")
    def _check_documents_of_customer(self):
        """Every linked document belongs to the request's customer (whoever files it)."""
        for request in self.sudo():
            customer = request.partner_id.commercial_partner_id
            wrong = []
            if request.contact_id and request.contact_id.commercial_partner_id != customer:
                wrong.append(request.contact_id.display_name)
            order = request.sale_order_id
            if order and order.partner_id.commercial_partner_id != customer:
                wrong.append(order.name)
            picking = request.picking_id
            if picking and (picking.partner_id.commercial_partner_id != customer
                            or (order and picking.sale_id != order)):
                wrong.append(picking.name)
            invoice = request.invoice_id
            if invoice and (invoice.commercial_partner_id != customer
                            or invoice.move_type not in ("out_invoice", "out_refund")):
                wrong.append(invoice.name)
            if wrong:
                raise ValidationError(_(
                    "These documents do not belong to the customer %(customer)s: %(documents)s",
                    customer=customer.display_name,
                    documents=", ".join(wrong),
                ))

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        self._check_protected_fields(vals_list)
        for vals in vals_list:
            vals.update(self._prepare_create_vals(vals))
        if self.env.su or self.env.user._is_internal():
            requests = super().create(vals_list)
        else:
            # A customer filing from the portal: the chatter's side effects
            # (following, notifying the responsible) read partners customers
            # may not read, so the records are made as superuser, then the
            # customer's own access rights and record rules are checked on
            # them: a refusal rolls the creation back.
            requests = super(SalesServiceRequest, self.sudo()).create(vals_list).sudo(False)
            requests.check_access("create")
        requests._record_stage_entry()
        return requests

    def write(self, vals):
        self._check_protected_fields([vals])
        if not self.env.su and not self.env.user._is_internal():
            raise UserError(_("Customers cannot change a service request; write a message on it instead."))
        if "partner_id" in vals and vals["partner_id"]:
            vals = dict(vals, partner_id=self._commercial_partner_id(vals["partner_id"]))
        moved = self.browse()
        if "stage_id" in vals:
            moved = self.filtered(lambda request: request.stage_id.id != vals["stage_id"])
            if moved:
                moved._record_stage_exit()
        result = super().write(vals)
        if moved:
            moved._record_stage_entry()
            moved._on_stage_changed()
        if vals.get("active") is False:
            self.env["sales.document.backup.journal"]._enqueue(self, "archived")
        return result

    def unlink(self):
        # Last snapshot before the request disappears (rolled back with the
        # deletion if it is refused).
        self.env["sales.document.backup.journal"]._enqueue(self, "deleted")
        return super().unlink()

    def _check_protected_fields(self, vals_list):
        """Refuse server-owned fields, and fields a customer may not choose."""
        if self.env.su:
            return
        portal = not self.env.user._is_internal()
        for vals in vals_list:
            refused = PROTECTED_FIELDS.intersection(vals)
            if portal:
                refused |= set(vals) - PORTAL_FIELDS
            if refused:
                labels = ", ".join(sorted(self._fields[name].string for name in refused if name in self._fields))
                raise UserError(_("These fields of a service request cannot be set: %(fields)s", fields=labels))

    @api.model
    def _commercial_partner_id(self, partner_id):
        # sudo: customers filing from the portal cannot read partners; the
        # record rules and the ownership check decide whether they may file.
        return self.env["res.partner"].sudo().browse(partner_id).commercial_partner_id.id

    @api.model
    def _prepare_create_vals(self, vals):
        """Number, commercial customer and contact of a new request."""
        result = {}
        if vals.get("partner_id"):
            # sudo: as in ``_commercial_partner_id``.
            partner = self.env["res.partner"].sudo().browse(vals["partner_id"])
            result["partner_id"] = partner.commercial_partner_id.id
            if not vals.get("contact_id") and partner != partner.commercial_partner_id:
                result["contact_id"] = partner.id
        if "user_id" not in vals or "team_id" not in vals:
            # sudo: the responsible follows the order (or the customer) even
            # when a customer files the request from the portal.
            order = self.env["sale.order"].sudo().browse(vals.get("sale_order_id"))
            customer = self.env["res.partner"].sudo().browse(result.get("partner_id"))
            user = self.env["res.users"].sudo().browse(vals.get("user_id"))
            if "user_id" not in vals:
                user = order.user_id or customer.user_id
                if not user and self.env.user._is_internal():
                    user = self.env.user.sudo()
                result["user_id"] = user.id
            if "team_id" not in vals:
                result["team_id"] = (order.team_id or user.sale_team_id).id
        if not vals.get("name") or vals.get("name") == _("New"):
            # sudo: the numbering sequence is configuration customers cannot read.
            result["name"] = self.env["ir.sequence"].sudo().next_by_code("sales.service.request") or _("New")
        return result

    # ------------------------------------------------------------------
    # Stage history
    # ------------------------------------------------------------------

    def _record_stage_entry(self):
        now = fields.Datetime.now()
        # sudo: the stage history is written by the server only (users read it).
        self.env["sales.service.stage.history"].sudo().create([
            {"request_id": request.id, "stage_id": request.stage_id.id, "user_id": self.env.uid, "date_in": now}
            for request in self
        ])

    def _record_stage_exit(self):
        # sudo: the stage history is written by the server only (users read it).
        open_stays = self.env["sales.service.stage.history"].sudo().search([
            ("request_id", "in", self.ids), ("date_out", "=", False),
        ])
        open_stays.write({"date_out": fields.Datetime.now()})

    def _on_stage_changed(self):
        """Closing date and journal snapshot when a request is resolved or cancelled."""
        closed = self.filtered(lambda request: request.state in ("done", "cancelled"))
        reopened = self - closed
        if closed:
            # sudo: the closing date is server-owned (readonly for users).
            closed.sudo().filtered(lambda r: not r.date_closed).write({"date_closed": fields.Datetime.now()})
        if reopened:
            reopened.sudo().write({"date_closed": False})
        Journal = self.env["sales.document.backup.journal"]
        done = closed.filtered(lambda request: request.state == "done")
        if done:
            Journal._enqueue(done, "validated")
        if closed - done:
            Journal._enqueue(closed - done, "cancelled")

    # ------------------------------------------------------------------
    # Audit
    # ------------------------------------------------------------------

    def _audit_is_validated(self, old_values):
        return old_values.get("state") in ("done", "cancelled")

    def _audit_document_name(self):
        self.ensure_one()
        return self.name

    # ------------------------------------------------------------------
    # Rating and portal
    # ------------------------------------------------------------------

    def _rating_get_partner(self):
        return self.contact_id or self.partner_id

    def _rating_get_operator(self):
        return self.user_id.partner_id or super()._rating_get_operator()

    def _get_report_base_filename(self):
        self.ensure_one()
        return self.name

    # ------------------------------------------------------------------
    # Figures per customer
    # ------------------------------------------------------------------

    @api.model
    def _customer_service_stats(self, partner_ids, domain=None):
        """Service figures per customer, set-wise, for the requests the user may read.

        Returns ``{partner_id: {"count", "open", "overdue", "rated",
        "rating_avg"}}`` for the commercial partners in ``partner_ids`` (a
        customer without requests is left out); ``domain`` narrows the
        requests (a period, a type...). ``rating_avg`` averages the rated
        requests only (0.0 when none is rated).
        """
        base = expression.AND([[("partner_id", "in", list(partner_ids))], domain or []])
        stats = {}
        for partner, count in self._read_group(base, ["partner_id"], ["__count"]):
            stats[partner.id] = {"count": count, "open": 0, "overdue": 0, "rated": 0, "rating_avg": 0.0}
        for partner, count in self._read_group(expression.AND([base, [("state", "=", "open")]]),
                                               ["partner_id"], ["__count"]):
            stats[partner.id]["open"] = count
        for partner, count in self._read_group(expression.AND([base, [("is_overdue", "=", True)]]),
                                               ["partner_id"], ["__count"]):
            stats[partner.id]["overdue"] = count
        for partner, count, average in self._read_group(expression.AND([base, [("rating", ">", 0)]]),
                                                        ["partner_id"], ["__count", "rating:avg"]):
            stats[partner.id].update(rated=count, rating_avg=float(average or 0.0))
        return stats

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_open_return_wizard(self):
        """Odoo's return wizard on the request's delivery; the return is linked to the request."""
        self.ensure_one()
        if not self.picking_id or self.picking_id.state != "done":
            raise UserError(_("Only a done delivery can be returned: pick the delivery of the request first."))
        action = self.env["ir.actions.act_window"]._for_xml_id("stock.act_stock_return_picking")
        action["context"] = {
            "active_id": self.picking_id.id,
            "active_ids": self.picking_id.ids,
            "active_model": "stock.picking",
            "default_service_request_id": self.id,
        }
        return action

    def action_open_document_flow(self):
        """The chain of documents of the order the request is about."""
        self.ensure_one()
        return self.env["sales.document.flow"]._action_open(self)

    def action_view_returns(self):
        """The returns made for this request."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("stock.action_picking_tree_all")
        action["domain"] = [("id", "in", self.return_picking_ids.ids)]
        action["context"] = {"create": False}
        return action

    def _link_return(self, pickings):
        """Record ``pickings`` as returns made for this request."""
        self.ensure_one()
        self.write({"return_picking_ids": [fields.Command.link(picking.id) for picking in pickings]})
