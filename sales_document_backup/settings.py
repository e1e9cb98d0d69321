"""Backup settings read from the Odoo configuration file or the environment.

Secrets and key paths never live in the database. Every option is looked up
first in the ``[options]`` section of the Odoo configuration file, then in an
environment variable of the same name in upper case (``sales_backup_public_key``
-> ``SALES_BACKUP_PUBLIC_KEY``). See readme/CONFIGURE.md.
"""

import os
import re
import sys
import tempfile

from odoo.tools import config

from odoo.addons.sales_document_registry.tools import server_options

PREFIX = "sales_backup_"
CODE_PATTERN = re.compile(r"^[a-z0-9_]+$")


def get_option(name, default=None):
    """Value of option ``sales_backup_<name>`` (config file, then environment)."""
    return server_options.get_option(PREFIX + name, default)


def public_key_path():
    return get_option("public_key")


def private_key_path():
    return get_option("private_key")


def private_key_password():
    return get_option("private_key_password")


def get_flag(name, default):
    """Boolean option ``sales_backup_<name>``: 1/true/yes/on or 0/false/no/off."""
    key = PREFIX + name
    value = config.get(key)
    if value in (None, ""):
        value = os.environ.get(key.upper())
    if value in (None, ""):
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def detached():
    """Whether full backups run in their own process (default) or in the
    worker that starts them."""
    return get_flag("detached", True)


def heartbeat_interval():
    """Seconds between two signs of life of a detached backup (default 10)."""
    return max(float(get_option("heartbeat_interval", 10)), 0.2)


def stale_after():
    """Seconds without a sign of life after which a running backup is failed
    (default 600)."""
    return max(float(get_option("stale_after", 600)), 1.0)


def python_executable():
    """Python interpreter that runs detached backups (default: this one)."""
    return get_option("python") or sys.executable


def runner_options():
    """Server options a detached backup process needs to open the database
    like this server does: the database connection, the addons and data
    directories, logging, and every ``sales_backup_*`` option (keys and
    credentials included). Sent to the process through a pipe, never on its
    command line or in its environment."""
    names = ("addons_path", "data_dir", "db_host", "db_port", "db_user", "db_password", "db_sslmode",
             "db_maxconn", "logfile", "log_level", "log_handler", "syslog")
    options = {name: config.get(name) for name in names if config.get(name) is not None}
    options.update({key: value for key, value in config.options.items() if key.startswith(PREFIX)})
    return {key: value for key, value in options.items() if isinstance(value, (str, int, float, bool, list))}


def timeout():
    """Time limit of one dump or restore, in seconds (default 4 hours)."""
    return int(get_option("timeout", 4 * 3600))


def work_dir():
    """Directory for archives being written or read (default: system temp dir)."""
    path = get_option("work_dir") or tempfile.gettempdir()
    os.makedirs(path, exist_ok=True)
    return path


def s3_credentials(company_id, code=None):
    """Credentials of the S3 destination of company ``company_id`` whose code is ``code``.

    ``sales_backup_s3_company<company_id>_<code>_<field>`` first, then the
    server-wide ``sales_backup_s3_<field>``; what is still missing is left to
    boto3's own chain (AWS_* environment variables, instance profile). The
    company is part of the option name so that a destination of another
    company given the same code never gets these credentials.
    """
    credentials = {}
    for field in ("access_key", "secret_key", "session_token", "region"):
        value = get_option(f"s3_company{int(company_id)}_{code}_{field}") if code and company_id else None
        credentials[field] = value or get_option(f"s3_{field}")
    return credentials


def default_allowed_root():
    """The backup folder of Odoo's data directory: ``<data_dir>/backups``."""
    return os.path.join(config["data_dir"], "backups")


def allowed_roots():
    """Directories local destinations may use (``sales_backup_allowed_roots``,
    comma-separated absolute paths; default: ``default_allowed_root()``),
    symbolic links and ``..`` resolved. Relative entries are ignored."""
    value = get_option("allowed_roots")
    entries = [entry.strip() for entry in str(value).split(",")] if value else [default_allowed_root()]
    return [os.path.realpath(entry) for entry in entries if entry and os.path.isabs(entry)]


def db_params():
    """Connection parameters of the Odoo server, for pg_dump and pg_restore."""
    return {
        "host": config.get("db_host"),
        "port": config.get("db_port"),
        "user": config.get("db_user"),
        "password": config.get("db_password"),
    }


def dump_params():
    """Connection parameters for pg_dump: the server's, or a hot standby's when
    ``sales_backup_dump_host`` / ``sales_backup_dump_port`` are set (keeps the
    dump's load off the primary; restores always go to the server's own)."""
    params = db_params()
    host, port = get_option("dump_host"), get_option("dump_port")
    if host:
        params["host"] = host
    if port:
        params["port"] = port
    return params


def filestore(dbname):
    return config.filestore(dbname)
