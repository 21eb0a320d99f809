#!/bin/bash
# The replica: on first start, copy the primary with pg_basebackup (-R writes the standby settings),
# then run as a hot standby streaming from it.
set -euo pipefail
export PGDATA=${PGDATA:-/var/lib/postgresql/data}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  export PGPASSWORD=$(cat "$REPLICATOR_PASSWORD_FILE")
  mkdir -p "$PGDATA" && chown postgres "$PGDATA" && chmod 0700 "$PGDATA"
  until gosu postgres pg_basebackup -h "$PRIMARY_HOST" -U replicator -D "$PGDATA" -R -X stream \
        -C -S replica1 --checkpoint=fast; do
    echo "waiting for the primary…"; rm -rf "${PGDATA:?}"/*; sleep 2
  done
fi
exec gosu postgres postgres -c hot_standby=on
