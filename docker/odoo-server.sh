#!/bin/bash
# Command of the Odoo servers of docker-compose.yml. When the streaming
# standby of the `ha` profile runs (its name resolves on the compose
# network), read-only requests go to it (db_replica_host); otherwise the
# server uses the primary only. The image's entry point adds the primary's
# connection (HOST, PORT, USER, PASSWORD).
set -euo pipefail

replica=()
if [ -n "${ODOO_REPLICA_HOST:-}" ] && getent hosts "$ODOO_REPLICA_HOST" >/dev/null; then
    replica=(--db_replica_host="$ODOO_REPLICA_HOST" --db_replica_port="${ODOO_REPLICA_PORT:-5432}")
fi
exec /entrypoint.sh odoo --database="$ODOO_DB" --db-filter="^${ODOO_DB}\$" "${replica[@]}" "$@"
