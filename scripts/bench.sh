#!/usr/bin/env bash
# The benchmark (README, "Performance"): builds certyo-cdc and certyo-bench in release mode, starts the throwaway
# PostgreSQL (schemaless envelopes need the column catalog) with the benchmark's table, and runs everything:
#   scripts/bench.sh            the full run (~1 M + 150 k envelope backlogs; several minutes), exit 3 if a target is missed
#   scripts/bench.sh --quick    small counts, a smoke test of the benchmark itself (~1-2 min after the build)
# Options after the mode go to certyo-bench (certyo-bench --help). CERTYO_BENCH_DEBUG=1 uses the debug build
# (only sensible with --quick; CI does this so that it does not build twice).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

config=release
[ "${CERTYO_BENCH_DEBUG:-0}" = 1 ] && config=debug
if [ "$config" = release ]; then
    swift build -c release --product certyo-cdc
    swift build -c release --product certyo-bench
else
    swift build --product certyo-cdc
    swift build --product certyo-bench
fi
bin="$(swift build -c "$config" --show-bin-path)"

eval "$(scripts/test-postgres.sh start | sed 's/^/export /')"
stop_pg=1
[ "${CERTYO_BENCH_KEEP_PG:-0}" = 1 ] && stop_pg=0
trap '[ $stop_pg = 1 ] && scripts/test-postgres.sh stop' EXIT

# The benchmark's table, in its own database, so the catalog certyo-cdc reads is the one the envelopes describe.
export PGPASSWORD="$CDC_POSTGRES_PASSWORD"
psql_() { psql -h "$CDC_POSTGRES_HOST" -p "$CDC_POSTGRES_PORT" -U "$CDC_POSTGRES_USER" -qAt -v ON_ERROR_STOP=1 "$@"; }
exists="$(psql_ -d "$CDC_POSTGRES_DB" -c "SELECT 1 FROM pg_database WHERE datname = 'certyo_bench'")"
[ "$exists" = 1 ] || psql_ -d "$CDC_POSTGRES_DB" -c "CREATE DATABASE certyo_bench"
"$bin/certyo-bench" --print-ddl | psql_ -d certyo_bench >/dev/null
unset PGPASSWORD

quick=()
if [ "${1:-}" = --quick ]; then quick=(--quick); shift; fi
PG_DSN="postgresql://$CDC_POSTGRES_USER:$CDC_POSTGRES_PASSWORD@$CDC_POSTGRES_HOST:$CDC_POSTGRES_PORT/certyo_bench" \
    "$bin/certyo-bench" --cdc "$bin/certyo-cdc" "${quick[@]}" "$@"
