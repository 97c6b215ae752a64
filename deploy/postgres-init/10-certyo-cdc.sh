#!/bin/sh
# docker-entrypoint-initdb.d hook of the compose stack's postgres service: runs certyo-cdc.sql once, on an empty
# data directory, with the CDC role's password taken from the cdc_db secret (the same properties file Connect's
# FileConfigProvider reads: database.password=...). The password is passed as a psql variable, never echoed.
set -eu
props=${CERTYO_CDC_DB_PROPERTIES:-/run/secrets/cdc-db.properties}
password=$(sed -n 's/^database\.password=//p' "$props")
if [ -z "$password" ]; then
    echo "10-certyo-cdc.sh: no database.password=... line in $props; fix: run deploy/setup.sh (or write that line)" >&2
    exit 1
fi
psql -v ON_ERROR_STOP=1 -q --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v cdc_user="${CERTYO_CDC_DB_USER:-certyo_cdc}" -v cdc_password="$password" \
    -f "${CERTYO_CDC_SQL:-/docker-entrypoint-initdb.d/certyo-cdc.sql.in}"
