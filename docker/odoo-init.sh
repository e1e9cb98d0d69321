#!/bin/bash
# One-shot initialisation of the database served by docker-compose.yml.
#
# The first time, it creates the database ODOO_DB and installs the three addons
# (with Odoo's demo data unless ODOO_WITHOUT_DEMO=all). When the addons are
# already installed it does nothing, so `docker compose up` stays fast.
# Database connection: HOST, PORT, USER, PASSWORD, as for the odoo image.
set -euo pipefail

db="${ODOO_DB:-sales_documents}"
addons="sales_document_registry,sales_document_audit,sales_document_backup"

export PGHOST="${HOST:-db}" PGPORT="${PORT:-5432}" PGUSER="${USER:-odoo}" \
       PGPASSWORD="${PASSWORD:-odoo}" PGCONNECT_TIMEOUT=10

installed="$(psql -d "$db" -tAc \
    "SELECT count(*) FROM ir_module_module
      WHERE state = 'installed'
        AND name = ANY (string_to_array('$addons', ','))" 2>/dev/null || true)"
if [ "$installed" = 3 ]; then
    echo "database $db: the three addons are installed, nothing to do"
    exit 0
fi

args=(-d "$db" -i "$addons" --stop-after-init)
if [ -n "${ODOO_WITHOUT_DEMO:-}" ]; then
    args+=("--without-demo=$ODOO_WITHOUT_DEMO")
fi
if [ -n "${ODOO_LOAD_LANGUAGE:-}" ]; then
    args+=("--load-language=$ODOO_LOAD_LANGUAGE")
fi
echo "database $db: installing $addons"
# The image's entrypoint waits for PostgreSQL and adds the connection options.
exec /entrypoint.sh odoo "${args[@]}"
