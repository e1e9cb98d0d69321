"""Settings that belong to the server, not to the database.

Key paths and storage credentials never live in the database: each addon reads
its options from the ``[options]`` section of the Odoo configuration file, or,
when absent there, from an environment variable of the same name in upper case
(``sales_backup_public_key`` -> ``SALES_BACKUP_PUBLIC_KEY``).
"""

import os

from odoo.tools import config


def get_option(key, default=None):
    """Value of server option ``key`` (configuration file, then environment), or ``default``."""
    value = config.get(key)
    if value in (None, "", False, "False"):
        value = os.environ.get(key.upper())
    return value if value not in (None, "") else default
