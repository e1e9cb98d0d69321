#!/bin/bash
# Entry point of the `db-standby` service (profile `ha`): on first start, copy
# the primary with pg_basebackup -R (which writes standby.signal and the
# primary_conninfo), then run the official image's entry point, which finds
# an existing data directory and starts PostgreSQL as a hot standby.
set -euo pipefail

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 0700 "$PGDATA"
    until pg_isready -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -q; do
        echo "waiting for the primary $PRIMARY_HOST:$PRIMARY_PORT"
        sleep 2
    done
    echo "copying the primary into $PGDATA (pg_basebackup -R)"
    env PGPASSWORD="$REPLICATION_PASSWORD" gosu postgres pg_basebackup \
        -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$REPLICATION_USER" \
        -D "$PGDATA" -R -X stream -c fast
fi
exec docker-entrypoint.sh postgres -c hot_standby=on
