from . import sales_document_mixin
from . import sales_document_rule
from . import sales_document_tag_rule
from . import res_company
from . import res_config_settings
from . import sale_order
from . import stock_picking
from . import account_move
from . import account_payment
# The registry views read the columns the models above add: initialise them last.
from . import sales_document
from . import sales_document_flow
from . import res_partner
