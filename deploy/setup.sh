#!/usr/bin/env bash
# Prepares what docker-compose.yml reads but git must never hold. Idempotent: existing files are kept.
#   deploy/secrets/postgres_password       superuser password of the postgres service (random)
#   deploy/secrets/cdc-db.properties       database.password=<random>: the CDC role, read by the postgres init
#                                          script and by Connect's FileConfigProvider (connector.json)
#   deploy/secrets/certyo_api_key          your Certyo API key (asked for; or set CERTYO_API_KEY when running this)
#   deploy/secrets/emulator-keys           KEY=TENANT for the optional emulator (a random key, tenant acme-corp)
#   deploy/certyo-cdc.env                  from certyo-cdc.env.example, PG_DSN filled with the CDC password
set -euo pipefail
cd "$(dirname "$0")"
umask 077
mkdir -p secrets
rand() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }

[ -s secrets/postgres_password ] || rand > secrets/postgres_password
[ -s secrets/cdc-db.properties ] || printf 'database.password=%s\n' "$(rand)" > secrets/cdc-db.properties
[ -s secrets/emulator-keys ] || printf 'cty_emu_%s=acme-corp\n' "$(rand)" > secrets/emulator-keys
if [ ! -s secrets/certyo_api_key ]; then
    key=${CERTYO_API_KEY:-}
    if [ -z "$key" ] && [ -t 0 ]; then read -r -s -p "Certyo API key (empty: use the emulator's key): " key; echo; fi
    [ -n "$key" ] || key=$(cut -d= -f1 secrets/emulator-keys | head -1)
    printf '%s' "$key" > secrets/certyo_api_key
fi
if [ ! -s certyo-cdc.env ]; then
    pw=$(sed -n 's/^database\.password=//p' secrets/cdc-db.properties)
    sed "s|^PG_DSN=postgresql://certyo_cdc:CHANGE_ME@|PG_DSN=postgresql://certyo_cdc:$pw@|" certyo-cdc.env.example > certyo-cdc.env
fi
# The containers run as non-root users (postgres, kafka, certyo): the secret files must be readable by them.
chmod 0644 secrets/*
chmod 0600 certyo-cdc.env
echo "deploy/setup.sh: secrets in deploy/secrets/, settings in deploy/certyo-cdc.env (both git-ignored)"
