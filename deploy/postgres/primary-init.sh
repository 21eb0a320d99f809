#!/bin/bash
# Runs once, when the primary's data directory is created (docker-entrypoint-initdb.d): a role the
# replica streams with, and its line in pg_hba.conf.
set -euo pipefail
password=$(cat "$REPLICATOR_PASSWORD_FILE")
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" \
  -c "CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '${password//\'/\'\'}'"
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
