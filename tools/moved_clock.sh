#!/bin/bash
# Run `make test` with the clock moved to another date and time, to show the
# suite does not depend on the day it runs (year ends, month ends, midnight).
#
#   tools/moved_clock.sh "2026-12-31 23:52:00" [pytest paths...]
#
# The database server and every Python process of the run (pytest, the Odoo
# servers and backup runners it starts) see the moved wall clock; monotonic
# clocks and sleeps are left alone, and so is Chromium (the browser's own
# clock plays no part in the assertions). Start a few minutes before midnight
# so that the run crosses it.
#
# How: a second PostgreSQL cluster (port MOVED_CLOCK_PGPORT, default 5450)
# started under libfaketime (Debian package `faketime`), dropped at the end;
# Python processes load a sitecustomize module that moves their clock with
# time-machine (installed under .build/, not into the project's environment).
# libfaketime is not used for Python: its sleep interception fails with
# EINVAL when the offset exceeds the machine's uptime.
set -euo pipefail

target=${1:?usage: tools/moved_clock.sh "YYYY-MM-DD HH:MM:SS" [pytest paths...]}
shift
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$repo/.venv}
port=${MOVED_CLOCK_PGPORT:-5450}
cluster=moved_clock
pgversion=$(ls /etc/postgresql | sort -n | tail -1)
build=$repo/.build/moved-clock

for tool in faketime pg_createcluster; do
    command -v "$tool" >/dev/null || { echo "moved_clock: $tool is missing (apt-get install -y faketime postgresql-common)" >&2; exit 2; }
done
[ -x "$venv/bin/python" ] || { echo "moved_clock: no virtual environment at $venv: run make setup" >&2; exit 2; }
date -d "$target" >/dev/null || { echo "moved_clock: cannot read the date '$target'" >&2; exit 2; }

mkdir -p "$build/site"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --target "$build/lib" "time-machine>=2.16,<4"
cat > "$build/site/sitecustomize.py" <<'PY'
# Moves this process's wall clock by SD_CLOCK_OFFSET seconds (tools/moved_clock.sh).
import os
import time

_offset = os.environ.get("SD_CLOCK_OFFSET")
if _offset:
    import time_machine

    time_machine.travel(time.time() + float(_offset), tick=True).start()
PY

cleanup() { pg_dropcluster --stop "$pgversion" "$cluster" 2>/dev/null || true; }
trap cleanup EXIT
cleanup
pg_createcluster "$pgversion" "$cluster" -p "$port" >/dev/null
sed -i -E 's/(peer|scram-sha-256|md5)$/trust/' "/etc/postgresql/$pgversion/$cluster/pg_hba.conf"
offset=$(( $(date -d "$target" +%s) - $(date +%s) ))
# pg_ctl does not return under libfaketime: started in the background, then polled.
su postgres -c "faketime --exclude-monotonic -f '+${offset}s' /usr/lib/postgresql/$pgversion/bin/pg_ctl \
    -D /var/lib/postgresql/$pgversion/$cluster \
    -o '-c config_file=/etc/postgresql/$pgversion/$cluster/postgresql.conf' -l /var/log/postgresql/postgresql-$pgversion-$cluster.log start" \
    >/dev/null 2>&1 &
for _ in $(seq 1 60); do
    psql -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1" >/dev/null 2>&1 && break
    sleep 1
done
psql -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE ROLE $(id -un) SUPERUSER LOGIN" >/dev/null

offset=$(( $(date -d "$target" +%s) - $(date +%s) ))
export SD_CLOCK_OFFSET=$offset PYTHONPATH=$build/lib:$build/site${PYTHONPATH:+:$PYTHONPATH}
export PGHOST=127.0.0.1 PGPORT=$port VENV=$venv LINT=${LINT:-0}
echo "moved_clock: Python clock $("$venv/bin/python" -c 'import datetime; print(datetime.datetime.now())')," \
     "PostgreSQL clock $(psql -h 127.0.0.1 -p "$port" -U postgres -tAc 'SELECT now()')"
status=0
make -C "$repo" test ARGS="$*" || status=$?
echo "moved_clock: ended at Python clock $("$venv/bin/python" -c 'import datetime; print(datetime.datetime.now())')," \
     "PostgreSQL clock $(psql -h 127.0.0.1 -p "$port" -U postgres -tAc 'SELECT now()')"
exit $status
