from . import sales_document_mixin
from . import sales_document_cached_config_mixin
from . import sales_document_rule
from . import sales_document_tag_rule
from . import res_company
from . import res_config_settings
from . import sale_order
from . import sale_order_line
from . import stock_picking
from . import account_move
from . import account_payment
from . import account_bank_statement_line
# The registry views read the columns the models above add: initialise them last.
from . import sales_document
from . import sales_document_summary
from . import sales_document_flow
from . import res_partner
# Process: approval, hand-offs, oversell guard, reconciliation.
from . import res_company_oversell
from . import res_config_settings_process
from . import sales_document_approval_rule
from . import sales_document_stage_handoff
from . import sale_order_approval
from . import sale_order_oversell
from . import sale_order_reconciliation
from . import sale_order_handoff
from . import account_move_handoff
from . import payment_transaction
# State machines: imported last, their create/write run before the others.
from . import sales_document_state
from . import sale_order_state
from . import account_move_state
from . import account_payment_state
from . import account_partial_reconcile
from . import stock_picking_state
from . import stock_move
