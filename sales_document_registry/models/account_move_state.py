from odoo import api, models


class AccountMove(models.Model):
    """State machine of journal entries, invoices and credit notes.

    ``state`` changes only through posting (``_post``), reset to draft
    (:meth:`button_draft`) and cancelling (:meth:`button_cancel`), which run
    the completeness and payment guards; a move is created in draft.
    """

    _inherit = "account.move"

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        self._sd_check_state_create(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        self._sd_check_state_write(vals)
        return super().write(vals)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def _post(self, soft=True):
        posted = super(AccountMove, self._sd_state_transition())._post(soft=soft)
        return posted.with_env(self.env)

    def button_draft(self):
        return super(AccountMove, self._sd_state_transition()).button_draft()

    def button_cancel(self):
        return super(AccountMove, self._sd_state_transition()).button_cancel()
