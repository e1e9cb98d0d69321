from . import controllers
from . import models
from . import tools
from . import settings


def uninstall_hook(env):
    """Give Odoo's salesperson record rules their original domains back."""
    models.salesman_rules.apply_salesman_rules(env, strict=False)
