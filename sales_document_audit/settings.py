"""Audit settings read from the Odoo configuration file or the environment.

The signing key never lives in the database: the configuration names the
file. Every option is looked up first in the ``[options]`` section of the
Odoo configuration file, then in an environment variable of the same name in
upper case (``sales_audit_signing_key`` -> ``SALES_AUDIT_SIGNING_KEY``). See
readme/CONFIGURE.md.
"""


from odoo.addons.sales_document_registry.tools import server_options

PREFIX = "sales_audit_"


def get_option(name, default=None):
    """Value of option ``sales_audit_<name>`` (config file, then environment)."""
    return server_options.get_option(PREFIX + name, default)


def signing_key_path():
    """Path of the Ed25519 private key (PEM) checkpoints are signed with."""
    return get_option("signing_key")


def signing_key_password():
    return get_option("signing_key_password")


def public_key_paths():
    """Earlier public keys still trusted for older checkpoints (comma-separated paths)."""
    value = get_option("public_keys")
    return [path.strip() for path in str(value).split(",") if path.strip()] if value else []


def anchor_dir():
    """The local anchor directory (absolute path), or None."""
    return get_option("anchor_dir")


def anchor_grace():
    """Seconds a sealed checkpoint may wait for its anchor before verification fails (default 3600)."""
    return int(get_option("anchor_grace", 3600))
