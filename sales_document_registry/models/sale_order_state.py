from odoo import _, api, models
from odoo.exceptions import AccessError

QUOTATION_STATES = ("draft", "sent")

# Who accepted an override is recorded by the server when the reason is
# given (by a sales manager), never written by a client.
OVERRIDE_USER_FIELDS = ("oversell_override_user_id", "duplicate_override_user_id")
# Fields whose ``default_<name>`` context key would reach ``create`` after the
# checks of the overrides below: they are moved into the values first.
GUARDED_DEFAULT_FIELDS = ("state", "oversell_override_reason", "duplicate_override_reason")


class SaleOrder(models.Model):
    """State machine of sales orders.

    ``state`` moves freely between quotation states (draft, sent); it becomes
    ``sale`` only through :meth:`action_confirm` (which runs the confirmation
    pipeline), ``cancel`` only through ``_action_cancel`` and back to draft
    from ``cancel`` only through :meth:`action_draft`. Archiving follows the
    rule of cancelling: an order with done deliveries, posted invoices or
    reconciled payments stays visible.
    """

    _inherit = "sale.order"

    _sd_free_state_moves = frozenset(
        (old, new) for old in QUOTATION_STATES for new in QUOTATION_STATES if old != new
    )
    _sd_create_states = frozenset(QUOTATION_STATES)

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [self._sd_with_guarded_defaults(vals) for vals in vals_list]
        self._sd_check_state_create(vals_list)
        for vals in vals_list:
            self._sd_check_override_user_fields(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._sd_check_state_write(vals)
        self._sd_check_override_user_fields(vals)
        if "active" in vals and not vals["active"]:
            self.filtered("active")._sd_check_archive_downstream()
        return super().write(vals)

    @api.model
    def _sd_with_guarded_defaults(self, vals):
        """``vals`` with the guarded fields a ``default_`` context key would set."""
        context = self.env.context
        defaults = {
            name: context[f"default_{name}"]
            for name in GUARDED_DEFAULT_FIELDS
            if f"default_{name}" in context and name not in vals
        }
        return dict(vals, **defaults) if defaults else vals

    @api.model
    def _sd_check_override_user_fields(self, vals):
        if not self.env.su and any(name in vals for name in OVERRIDE_USER_FIELDS):
            raise AccessError(_(
                "Who accepted a stock shortage or a duplicate reference is recorded "
                "automatically when a sales manager gives the reason."
            ))

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def _action_cancel(self):
        return super(SaleOrder, self._sd_state_transition())._action_cancel()

    def action_draft(self):
        return super(SaleOrder, self._sd_state_transition()).action_draft()

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    def _sd_check_archive_downstream(self):
        """Refuse to archive orders that protect documents downstream, whoever archives them."""
        if not self:
            return
        # Set-wise first: done deliveries and posted invoices of all the orders
        # at once; reconciled payments only exist on posted invoices.
        # sudo: downstream documents protect the order even where the user cannot read them.
        orders = self.sudo()
        locked = orders.picking_ids.filtered(lambda p: p.state == "done").sale_id
        locked |= orders.invoice_ids.filtered(lambda m: m.state == "posted").invoice_line_ids.sale_line_ids.order_id
        (self & locked)._sd_check_nothing_downstream("archive")
