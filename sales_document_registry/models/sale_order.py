import re
from datetime import timedelta

import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL, LazyTranslate

from .sales_document_mixin import archive_granted, without_auto_tag

_lt = LazyTranslate(__name__)

# Why an order with done, posted or paid documents downstream is refused,
# one whole sentence per action (``%(orders)s``: one line per order).
DOWNSTREAM_REFUSALS = {
    "archive": _lt(
        "These orders cannot be archived: documents downstream are done, posted or paid.\n"
        "%(orders)s\nReturn the goods and issue a credit note instead."
    ),
    "cancel": _lt(
        "These orders cannot be cancelled: documents downstream are done, posted or paid.\n"
        "%(orders)s\nReturn the goods and issue a credit note instead."
    ),
    "delete": _lt(
        "These orders cannot be deleted: documents downstream are done, posted or paid.\n"
        "%(orders)s\nReturn the goods and issue a credit note instead."
    ),
}


def normalize_reference(ref):
    """Customer references compare without case, spaces or punctuation."""
    return re.sub(r"[\W_]+", "", ref or "").casefold() or False


class SaleOrder(models.Model):
    _name = "sale.order"
    _inherit = ["sale.order", "sales.document.mixin"]

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------

    _sd_archive_wizard_field = "order_ids"

    active = fields.Boolean(default=True, tracking=True)
    commercial_partner_id = fields.Many2one(
        "res.partner",
        string="Commercial customer",
        related="partner_id.commercial_partner_id",
        store=True,
        index=True,
    )
    preferred_payment_method_line_id = fields.Many2one(
        "account.payment.method.line",
        string="Payment method",
        compute="_compute_preferred_payment_method_line_id",
        store=True,
        readonly=False,
        precompute=True,
        check_company=True,
        domain="[('payment_type', '=', 'inbound'), ('company_id', '=', company_id)]",
        tracking=True,
        help="How the customer will pay; carried to the invoices of the order.",
    )
    carrier_id = fields.Many2one(
        compute="_compute_carrier_id", store=True, readonly=False, precompute=True
    )
    # Idempotent creation by integrations.
    external_source = fields.Char(copy=False, index=True, help="System the order came from.")
    external_ref = fields.Char(
        string="External reference", copy=False, help="Identifier in the source system."
    )
    # Duplicate guards.
    client_order_ref_normalized = fields.Char(
        compute="_compute_client_order_ref_normalized", store=True, index=True
    )
    duplicate_override_reason = fields.Char(
        string="Duplicate reference accepted because",
        copy=False,
        tracking=True,
        help="A sales manager may accept a customer reference already used, with a reason.",
    )
    duplicate_override_user_id = fields.Many2one(
        "res.users", string="Duplicate accepted by", readonly=True, copy=False
    )
    sd_line_signature = fields.Char(
        compute="_compute_sd_line_signature", store=True, index=True,
        help="Products and quantities of the order, to spot likely duplicates.",
    )
    is_possible_duplicate = fields.Boolean(
        string="Likely duplicate",
        compute="_compute_possible_duplicate_ids",
        search="_search_is_possible_duplicate",
    )
    possible_duplicate_ids = fields.Many2many(
        "sale.order",
        string="Similar orders",
        compute="_compute_possible_duplicate_ids",
    )

    _sql_constraints = [
        (
            "external_ref_uniq",
            "unique(company_id, external_source, external_ref)",
            "An order with this external source and reference already exists in this company.",
        ),
    ]

    # ------------------------------------------------------------------
    # Compute
    # ------------------------------------------------------------------

    @api.depends("partner_id", "company_id")
    def _compute_preferred_payment_method_line_id(self):
        for order in self:
            if order.state not in ("draft", "sent") and order.preferred_payment_method_line_id:
                continue
            partner = order.partner_id.commercial_partner_id.with_company(order.company_id)
            order.preferred_payment_method_line_id = (
                partner.property_inbound_payment_method_line_id
                or order.preferred_payment_method_line_id
            )

    @api.depends("partner_id", "partner_shipping_id")
    def _compute_carrier_id(self):
        # The customer's usual shipping method, so that the standard is met by default.
        for order in self:
            if order.carrier_id or order.state not in ("draft", "sent"):
                continue
            partner = (order.partner_shipping_id or order.partner_id).with_company(order.company_id)
            order.carrier_id = (
                partner.property_delivery_carrier_id
                or order.partner_id.commercial_partner_id.with_company(order.company_id).property_delivery_carrier_id
            )

    @api.depends("client_order_ref")
    def _compute_client_order_ref_normalized(self):
        for order in self:
            order.client_order_ref_normalized = normalize_reference(order.client_order_ref)

    @api.depends("order_line.product_id", "order_line.product_uom_qty", "order_line.display_type")
    def _compute_sd_line_signature(self):
        for order in self:
            parts = sorted(
                f"{line.product_id.id}:{line.product_uom_qty:g}"
                for line in order.order_line
                if line.product_id and not line.display_type and not line.is_delivery
            )
            order.sd_line_signature = "|".join(parts) or False

    def _possible_duplicates_domain(self):
        self.ensure_one()
        company = self.company_id or self.env.company
        date = self.date_order or fields.Datetime.now()
        window = timedelta(days=company.sales_duplicate_days)
        tolerance = abs(self.amount_total) * company.sales_duplicate_tolerance / 100.0
        return [
            ("id", "!=", self.id or 0),
            ("company_id", "=", company.id),
            ("commercial_partner_id", "=", self.commercial_partner_id.id),
            ("sd_line_signature", "=", self.sd_line_signature),
            ("state", "!=", "cancel"),
            ("date_order", ">=", date - window),
            ("date_order", "<=", date + window),
            ("amount_total", ">=", self.amount_total - tolerance),
            ("amount_total", "<=", self.amount_total + tolerance),
        ]

    @api.depends("commercial_partner_id", "sd_line_signature", "amount_total", "date_order", "company_id")
    def _compute_possible_duplicate_ids(self):
        for order in self:
            duplicates = self.browse()
            if order.id and order.sd_line_signature and order.commercial_partner_id:
                duplicates = self.search(order._possible_duplicates_domain(), limit=10)
            order.possible_duplicate_ids = duplicates
            order.is_possible_duplicate = bool(duplicates)

    def _search_is_possible_duplicate(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(_("Unsupported search on likely duplicates."))
        self.flush_model(["commercial_partner_id", "sd_line_signature", "amount_total",
                          "date_order", "company_id", "state"])
        self.env["res.company"].flush_model(["sales_duplicate_days", "sales_duplicate_tolerance"])
        # Orders with a twin: same company, customer and lines, close in time and amount.
        query = SQL(
            """(
            SELECT a.id
              FROM sale_order a
              JOIN res_company c ON c.id = a.company_id
             WHERE a.sd_line_signature IS NOT NULL
               AND EXISTS (
                   SELECT 1 FROM sale_order b
                    WHERE b.id != a.id
                      AND b.company_id = a.company_id
                      AND b.commercial_partner_id = a.commercial_partner_id
                      AND b.sd_line_signature = a.sd_line_signature
                      AND b.state != 'cancel'
                      AND b.date_order BETWEEN a.date_order - make_interval(days => c.sales_duplicate_days)
                                           AND a.date_order + make_interval(days => c.sales_duplicate_days)
                      AND abs(b.amount_total - a.amount_total)
                          <= abs(a.amount_total) * c.sales_duplicate_tolerance / 100.0
               )
            )"""
        )
        positive = (operator == "=") == value
        return [("id", "in" if positive else "not in", query)]

    # ------------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------------

    @api.constrains("client_order_ref", "partner_id", "company_id", "duplicate_override_reason", "state")
    def _check_duplicate_reference(self):
        for order in self.filtered("client_order_ref_normalized"):
            if order.state == "cancel":
                continue
            # sudo: orders of other salespeople count too: the guard is company-wide.
            other = self.sudo().with_context(active_test=False).search([
                ("id", "!=", order.id),
                ("company_id", "=", order.company_id.id),
                ("commercial_partner_id", "=", order.commercial_partner_id.id),
                ("client_order_ref_normalized", "=", order.client_order_ref_normalized),
                ("state", "!=", "cancel"),
            ], limit=1)
            if other and not order.duplicate_override_reason:
                raise ValidationError(_(
                    "The customer reference %(ref)s is already used by %(order)s for %(customer)s. "
                    "Use another reference, or ask a sales manager to accept the duplicate with a reason.",
                    ref=other.client_order_ref,
                    order=other.name,
                    customer=order.commercial_partner_id.display_name,
                ))

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("duplicate_override_reason"):
                self._check_duplicate_override_allowed()
                vals["duplicate_override_user_id"] = self.env.uid
        orders = super().create(vals_list)
        orders._sd_apply_auto_tags()
        return orders

    def write(self, vals):
        if vals.get("duplicate_override_reason"):
            self._check_duplicate_override_allowed()
            vals = dict(vals, duplicate_override_user_id=self.env.uid)
        old_tags = {order.id: order.tag_ids for order in self} if "tag_ids" in vals else None
        res = super().write(vals)
        if old_tags is not None:
            self._sd_propagate_tags(old_tags)
        self._sd_auto_tag_after_write(vals)
        return res

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_confirm(self):
        # Odoo writes the confirmed state before ``_action_confirm``: the guards
        # run first, then the state write passes as part of the transition.
        self._sd_run_confirmation_guards()
        return super(SaleOrder, self._sd_state_transition()).action_confirm()

    def _action_confirm(self):
        # Code calling the hook directly gets the same guards; orders coming
        # from action_confirm are no quotations any more and are skipped.
        self._sd_run_confirmation_guards()
        res = super()._action_confirm()
        self._sd_mark_stage("confirmed")
        # Deliveries are created by procurement during confirmation.
        for order in self.filtered("tag_ids"):
            pickings = order.picking_ids.filtered(lambda p, o=order: o.tag_ids - p.tag_ids)
            if pickings:
                without_auto_tag(pickings).write(
                    {"tag_ids": [(4, tag.id) for tag in order.tag_ids]}
                )
        return res

    def action_cancel(self):
        self._sd_check_nothing_downstream("cancel")
        return super().action_cancel()

    def _action_cancel(self):
        self._sd_check_nothing_downstream("cancel")
        res = super()._action_cancel()
        self._sd_mark_stage("cancelled")
        return res

    def action_archive(self):
        """Archive only through the wizard, which records the reason."""
        if not archive_granted(self.env):
            return self.action_archive_with_reason()
        return super().action_archive()

    def action_unarchive(self):
        res = super().action_unarchive()
        self._sd_clear_archive_reason(_("Restored from the archive."))
        return res

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    @api.model
    def create_external(self, vals):
        """Create an order for an integration, idempotently.

        ``vals`` must hold ``external_source`` and ``external_ref``. When an
        order with the same pair already exists in the company, its id is
        returned and nothing is created; concurrent retries of the same call
        create one order only (the unique index decides, the losers return the
        winner's id).

        :return: id of the existing or new order
        """
        source, ref = vals.get("external_source"), vals.get("external_ref")
        if not source or not ref:
            raise UserError(_("An external order needs both an external source and an external reference."))
        company_id = vals.get("company_id") or self.env.company.id
        vals = dict(vals, company_id=company_id)
        existing = self._find_external(company_id, source, ref)
        if existing:
            return existing.id
        try:
            with self.env.cr.savepoint():
                return self.create(vals).id
        except psycopg2.errors.UniqueViolation:
            # A concurrent call created it first and has committed. This
            # transaction's snapshot cannot see that order (repeatable read):
            # look it up in a fresh transaction.
            with self.env.registry.cursor() as cr:
                cr.execute(SQL(
                    "SELECT id FROM sale_order WHERE company_id = %s AND external_source = %s"
                    " AND external_ref = %s",
                    company_id, source, ref,
                ))
                row = cr.fetchone()
            if row:
                return row[0]
            raise

    def _find_external(self, company_id, source, ref):
        return self.with_context(active_test=False).search([
            ("company_id", "=", company_id),
            ("external_source", "=", source),
            ("external_ref", "=", ref),
        ], limit=1)

    def _check_duplicate_override_allowed(self):
        if not self.env.user.has_group("sales_team.group_sale_manager"):
            raise AccessError(_("Only sales managers can accept a duplicate customer reference."))

    def _sd_confirmation_guards(self):
        """The checks a confirmation runs, in this order, on quotations.

        Completeness first (the cheapest, and what the salesperson fixes),
        then approval, then the stock: the oversell guard takes the stock
        lock, which is held until the transaction ends, so it comes last.
        Each guard raises one error listing every order it refuses.
        """
        return [
            lambda orders: orders._sd_check_completeness("confirm"),
            lambda orders: orders._sd_check_approval(),
            lambda orders: orders._sd_check_oversell(),
        ]

    def _sd_run_confirmation_guards(self):
        """Run the confirmation pipeline on the quotations of ``self``."""
        quotations = self.filtered(lambda o: o.state in ("draft", "sent"))
        if not quotations:
            return
        for guard in self._sd_confirmation_guards():
            guard(quotations)

    def _sd_doc_type(self):
        return "order"

    @api.model
    def _sd_doc_types(self):
        return ["order"]

    @api.model
    def _sd_pending_domain(self, doc_type):
        return [("state", "in", ("draft", "sent"))]

    def _sd_get_locked_downstream(self):
        """Downstream documents that make this order impossible to cancel or delete."""
        self.ensure_one()
        pickings = self.picking_ids.filtered(lambda p: p.state == "done")
        invoices = self.invoice_ids.filtered(lambda m: m.state == "posted")
        payments = self.invoice_ids._get_reconciled_payments()
        return pickings, invoices, payments

    def _sd_check_archivable(self):
        # Done, posted or paid documents downstream are checked, set-wise, by the
        # write of ``active`` itself (``_sd_check_archive_downstream``), whoever archives.
        not_draft = self.filtered(lambda o: o.state not in ("draft", "sent", "cancel"))
        if not_draft:
            raise UserError(_(
                "Only quotations and cancelled orders can be archived; cancel these first: %(orders)s",
                orders=", ".join(not_draft.mapped("name")),
            ))

    def _sd_archive(self):
        self.action_archive()

    def _sd_check_deletable(self):
        self._sd_check_nothing_downstream("delete")

    def _sd_check_nothing_downstream(self, action):
        """Refuse ``action`` ("archive", "cancel" or "delete") on orders with done, posted or paid documents."""
        problems = []
        # sudo: downstream documents protect the order even where the user cannot read them.
        for order in self.sudo():
            pickings, invoices, payments = order._sd_get_locked_downstream()
            names = pickings.mapped("name") + invoices.mapped("name") + payments.mapped("name")
            if names:
                problems.append(_(
                    "%(order)s has %(documents)s", order=order.name, documents=", ".join(names)
                ))
        if problems:
            orders = "\n".join(f"- {problem}" for problem in problems)
            raise UserError(self.env._(DOWNSTREAM_REFUSALS[action]) % {"orders": orders})

    def _sd_propagate_tags(self, old_tags):
        """Carry tag changes of orders to their deliveries, invoices and payments."""
        for order in self:
            added = order.tag_ids - old_tags[order.id]
            removed = old_tags[order.id] - order.tag_ids
            if not added and not removed:
                continue
            commands = [(4, t.id) for t in added] + [(3, t.id) for t in removed]
            # sudo: tags follow to every downstream document, even those the user cannot write.
            downstream = order.sudo()._sd_downstream_documents()
            for records in downstream:
                if records:
                    without_auto_tag(records).write({"tag_ids": commands})

    def _sd_downstream_documents(self):
        """Deliveries, invoices (and credit notes) and payments of the orders."""
        invoices = self.invoice_ids
        payments = invoices.matched_payment_ids | invoices._get_reconciled_payments()
        return self.picking_ids, invoices, payments

    def _sd_update_delivered_stage(self):
        """Mark orders whose outgoing deliveries are all done as delivered."""
        for order in self:
            pickings = order.picking_ids.filtered(
                lambda p: p.picking_type_code == "outgoing" and p.state != "cancel"
            )
            if pickings and all(p.state == "done" for p in pickings) and not order.stage_delivered_date:
                order._sd_mark_stage("delivered")

    def _sd_update_invoiced_paid_stage(self):
        for order in self:
            invoices = order.invoice_ids.filtered(
                lambda m: m.state == "posted" and m.move_type == "out_invoice"
            )
            if not invoices:
                continue
            if order.invoice_status == "invoiced" and not order.stage_invoiced_date:
                order._sd_mark_stage("invoiced")
            if (
                order.invoice_status == "invoiced"
                and not order.stage_paid_date
                and all(m.payment_state in ("paid", "in_payment", "reversed") for m in invoices)
            ):
                order._sd_mark_stage("paid")

    def _prepare_invoice(self):
        vals = super()._prepare_invoice()
        if self.preferred_payment_method_line_id:
            vals["preferred_payment_method_line_id"] = self.preferred_payment_method_line_id.id
        if self.tag_ids:
            vals["tag_ids"] = [(6, 0, self.tag_ids.ids)]
        return vals
