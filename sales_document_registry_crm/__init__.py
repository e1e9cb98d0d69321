from . import models


def uninstall_hook(env):
    """Take the opportunities out of the registry; the other documents stay."""
    env["sales.document"]._registry_unregister_source("crm.lead")
