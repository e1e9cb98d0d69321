from odoo import api, models

from .sales_document_state import with_state_transition


class AccountPartialReconcile(models.Model):
    """Reconciling moves a payment between in process and paid."""

    _inherit = "account.partial.reconcile"

    @api.model_create_multi
    def create(self, vals_list):
        # The payments matched by the new partials become paid.
        partials = super(AccountPartialReconcile, with_state_transition(self)).create(vals_list)
        return partials.with_env(self.env)

    def unlink(self):
        # The payments matched by the removed partials are in process again.
        return super(AccountPartialReconcile, with_state_transition(self)).unlink()
