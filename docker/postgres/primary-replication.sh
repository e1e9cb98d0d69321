#!/bin/bash
# Run once by the official postgres image when it creates the primary's data
# directory (/docker-entrypoint-initdb.d): a role allowed to stream the WAL to
# the standby of the `ha` profile, and the pg_hba.conf line that lets it in
# ("all" in pg_hba.conf does not cover replication connections).
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v role="$REPLICATION_USER" -v password="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE :"role" WITH REPLICATION LOGIN PASSWORD :'password';
SQL
echo "host replication $REPLICATION_USER all scram-sha-256" >> "$PGDATA/pg_hba.conf"
