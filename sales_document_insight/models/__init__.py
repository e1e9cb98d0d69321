from . import sales_target
from . import res_partner
from . import res_config_settings
