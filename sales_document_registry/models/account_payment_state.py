from odoo import api, models


class AccountPayment(models.Model):
    """State machine of payments.

    ``state`` changes only through the payment's actions (post, validate,
    reject, cancel, reset to draft), the creation of its journal entry, and
    the reconciliation of that entry (``account.partial.reconcile``), never
    by a direct write; a payment is created in draft.
    """

    _inherit = "account.payment"

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

    def action_post(self):
        return super(AccountPayment, self._sd_state_transition()).action_post()

    def action_validate(self):
        return super(AccountPayment, self._sd_state_transition()).action_validate()

    def action_reject(self):
        return super(AccountPayment, self._sd_state_transition()).action_reject()

    def action_cancel(self):
        return super(AccountPayment, self._sd_state_transition()).action_cancel()

    def action_draft(self):
        return super(AccountPayment, self._sd_state_transition()).action_draft()

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    def _generate_journal_entry(self, write_off_line_vals=None, force_balance=None, line_ids=None):
        # The payment is in process once its journal entry exists.
        return super(AccountPayment, self._sd_state_transition())._generate_journal_entry(
            write_off_line_vals=write_off_line_vals, force_balance=force_balance, line_ids=line_ids
        )
