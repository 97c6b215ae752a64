#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster on a loopback port for the integration tests.
#   scripts/test-postgres.sh start   -> initdb (first time) + start; prints the CDC_POSTGRES_* variables
#   scripts/test-postgres.sh stop    -> stop it (data kept)
#   scripts/test-postgres.sh purge   -> stop and delete it
# State lives in $CDC_PG_HOME (default /tmp/certyo-cdc-pg). As root the server runs as user "postgres".
set -euo pipefail

home=${CDC_PG_HOME:-/tmp/certyo-cdc-pg}
port=${CDC_POSTGRES_PORT:-25440}
bindir=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
data="$home/data"
sock="$home/sock"

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
    mkdir -p "$home" "$sock"
    # Several worktrees or CI steps may start the same cluster at once: one initdb/pg_ctl at a time.
    exec 9>"$home/.start.lock"
    flock 9
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$home" "$sock"; chmod o+x "$home"; fi
    if [ ! -s "$data/PG_VERSION" ]; then
        as_pg "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$home/initdb.log" 2>&1 \
            || { cat "$home/initdb.log" >&2; exit 1; }
        cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sock'
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
        # Password auth on TCP so the tests exercise DSNs with a password (and its redaction).
        cat >"$data/pg_hba.conf" <<HBA
local all all trust
host all all 127.0.0.1/32 scram-sha-256
host replication all 127.0.0.1/32 scram-sha-256
HBA
    fi
    if ! as_pg "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        # 9>&-: the server must not inherit (and so hold forever) the start lock.
        as_pg "$bindir/pg_ctl" -D "$data" -o "-p $port" -l "$home/server.log" -w -t 60 start >/dev/null 9>&- \
            || { tail -20 "$home/server.log" >&2; exit 1; }
    fi
    as_pg "$bindir/psql" -h "$sock" -p "$port" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'certyo_test') THEN
    CREATE ROLE certyo_test LOGIN SUPERUSER REPLICATION PASSWORD 'certyo_test_pw';
  END IF;
END $$;
SELECT 'CREATE DATABASE certyo_test OWNER certyo_test' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'certyo_test')
\gexec
SQL
    cat <<ENV
CDC_POSTGRES_HOST=127.0.0.1
CDC_POSTGRES_PORT=$port
CDC_POSTGRES_USER=certyo_test
CDC_POSTGRES_PASSWORD=certyo_test_pw
CDC_POSTGRES_DB=certyo_test
ENV
}

case "${1:-start}" in
    start) start ;;
    stop) [ -d "$data" ] && as_pg "$bindir/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true ;;
    purge) [ -d "$data" ] && as_pg "$bindir/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$home" ;;
    *) echo "usage: $0 start|stop|purge" >&2; exit 2 ;;
esac
