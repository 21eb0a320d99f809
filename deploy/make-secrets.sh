#!/usr/bin/env bash
# Once, before the first `docker compose up`: random keys and passwords into deploy/secrets/. The directory
# is 0700 (only you on this host); the files in it are readable by the containers' own users, which compose
# mounts them for (outside swarm, compose cannot change a secret file's owner).
# Never run it again for an existing database: new keys cannot read what the old ones wrote (the nodes
# would refuse to start). Back the directory up with the database (docs/deployment.md, "Backups").
set -euo pipefail
cd "$(dirname "$0")"
umask 022
mkdir -p secrets && chmod 0700 secrets
for f in database_url read_database_url db_password replicator_password pii_hmac_keys pii_encryption_keys audit_mac_keys secret_key; do
  [ -e "secrets/$f" ] && { echo "secrets/$f exists: refusing to overwrite keys" >&2; exit 1; }
done
key() { printf '%s:%s' "$1" "$(head -c 32 /dev/urandom | base64)"; }
password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
printf '%s' "$password" > secrets/db_password
printf 'postgresql+psycopg://credit:%s@db-primary:5432/credit' "$password" > secrets/database_url
printf 'postgresql+psycopg://credit:%s@db-replica:5432/credit' "$password" > secrets/read_database_url
head -c 24 /dev/urandom | base64 | tr -d '/+=' > secrets/replicator_password
key k1 > secrets/pii_hmac_keys
key e1 > secrets/pii_encryption_keys
key a1 > secrets/audit_mac_keys
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > secrets/secret_key
echo "written: $(ls secrets | tr '\n' ' ')"
