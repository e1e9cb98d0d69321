"""Plain Python helpers of the registry (no Odoo model here)."""

from . import registry_store
