from . import controllers
from . import models


def uninstall_hook(env):
    """Take the service requests out of the registry; the other documents stay."""
    env["sales.document"]._registry_unregister_source("sales.service.request")
