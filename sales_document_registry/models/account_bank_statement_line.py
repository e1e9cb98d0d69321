from odoo import models

from .sales_document_mixin import with_unlink_grant


class AccountBankStatementLine(models.Model):
    _inherit = "account.bank.statement.line"

    def action_undo_reconciliation(self):
        # Odoo deletes the payments the bank reconciliation generated: they
        # go with the reconciliation being undone, not as a user's deletion.
        return super(AccountBankStatementLine, with_unlink_grant(self)).action_undo_reconciliation()
