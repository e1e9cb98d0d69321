from odoo import models


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    def _check_amount_and_confirm_order(self):
        # A quotation paid online while it still needs an approval is held for
        # the approval (the payment stays recorded) instead of being confirmed.
        held_transactions = self.browse()
        for tx in self:
            if len(tx.sale_order_ids) != 1:
                continue
            quotation = tx.sale_order_ids.filtered(lambda so: so.state in ("draft", "sent"))
            if not quotation or not quotation._is_confirmation_amount_reached():
                continue
            held = quotation._sd_confirmation_needs_approval()
            if held:
                held._sd_hold_for_approval()
                held_transactions |= tx
        confirmed = super(PaymentTransaction, self - held_transactions)._check_amount_and_confirm_order()
        return confirmed
