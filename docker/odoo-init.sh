#!/bin/bash
# One-shot initialisation of the database served by docker-compose.yml.
#
# The first time, it creates the database ODOO_DB and installs the three addons
# (with Odoo's demo data unless ODOO_WITHOUT_DEMO=all), then, with demo data,
# fills it with a year of demo activity (tools/demo_data.py, ODOO_DEMO_ORDERS
# orders, 0 for none). When the addons are installed and the demo activity is
# complete it does nothing, so `docker compose up` stays fast; an interrupted
# fill is resumed. Database connection: HOST, PORT, USER, PASSWORD, as for the
# odoo image.
set -euo pipefail

db="${ODOO_DB:-sales_documents}"
addons="sales_document_registry,sales_document_audit,sales_document_backup,sales_document_service,sales_document_insight"

export PGHOST="${HOST:-db}" PGPORT="${PORT:-5432}" PGUSER="${USER:-odoo}" \
       PGPASSWORD="${PASSWORD:-odoo}" PGCONNECT_TIMEOUT=10

demo_orders="${ODOO_DEMO_ORDERS:-300}"
keys=/var/lib/odoo/demo-keys

fill_demo() {
    # Demo keys (backup encryption pair, audit signing key) in the odoo-data
    # volume, and a configuration for the filler that names them.
    if [ ! -s "$keys/backup_private.pem" ] || [ ! -s "$keys/audit_private.pem" ]; then
        mkdir -p "$keys" && chmod 0700 "$keys"
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$keys/backup_private.pem" 2>/dev/null
        openssl pkey -in "$keys/backup_private.pem" -pubout -out "$keys/backup_public.pem"
        openssl genpkey -algorithm ed25519 -out "$keys/audit_private.pem"
        openssl pkey -in "$keys/audit_private.pem" -pubout -out "$keys/audit_public.pem"
        chmod 0600 "$keys/backup_private.pem" "$keys/audit_private.pem"
    fi
    mkdir -p /var/lib/odoo/demo-anchors
    conf=/var/lib/odoo/demo-fill.conf
    {
        grep -v '^\s*;' /etc/odoo/odoo.conf | grep -v '^\s*$'
        echo "db_host = $PGHOST"
        echo "db_port = $PGPORT"
        echo "db_user = $PGUSER"
        echo "db_password = $PGPASSWORD"
        echo "sales_backup_public_key = $keys/backup_public.pem"
        echo "sales_backup_private_key = $keys/backup_private.pem"
        echo "sales_backup_allowed_roots = /var/lib/odoo/backups,/var/lib/odoo-backups"
        echo "sales_audit_signing_key = $keys/audit_private.pem"
        echo "sales_audit_anchor_dir = /var/lib/odoo/demo-anchors"
    } > "$conf"
    chmod 0600 "$conf"
    echo "database $db: filling it with a year of demo activity ($demo_orders orders, a few minutes, once)"
    python3 /opt/sales-documents/tools/demo_data.py -c "$conf" -d "$db" --orders "$demo_orders"
}

demo_wanted() {
    [ -z "${ODOO_WITHOUT_DEMO:-}" ] && [ "$demo_orders" != 0 ]
}

demo_complete() {
    psql -d "$db" -tAc "SELECT value FROM ir_config_parameter
                         WHERE key = 'sales_documents.demo_data'" 2>/dev/null | grep -q '"complete": true'
}

installed="$(psql -d "$db" -tAc \
    "SELECT count(*) FROM ir_module_module
      WHERE state = 'installed'
        AND name = ANY (string_to_array('$addons', ','))" 2>/dev/null || true)"
if [ "$installed" = 3 ]; then
    if demo_wanted && ! demo_complete; then
        fill_demo
        exit 0
    fi
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
/entrypoint.sh odoo "${args[@]}"
if demo_wanted; then
    fill_demo
fi
