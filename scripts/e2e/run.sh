#!/usr/bin/env bash
# End-to-end test of the user's path: PostgreSQL (set up by deploy/postgres-init/certyo-cdc.sql) -> a real Kafka
# Connect worker with connector.json registered by deploy/register-connector.sh -> Kafka (librdkafka's mock
# broker) -> certyo-cdc run -> the Certyo emulator. Checks that the snapshot, an insert, an update, a primary-key
# change, a delete and a truncate are each handled as documented, with the exact canonical payloads at the
# emulator, that nothing else was stored, that the truncate was logged, and that no secret reached any log; also
# every register-connector.sh failure case (register-test.sh) and `docker compose config` (compose-check.sh).
#
#   scripts/e2e/run.sh                 # builds certyo-cdc and certyo-emulator (debug) when needed, runs, stops all
#   E2E_BIN_DIR=.build/debug scripts/e2e/run.sh   # use binaries already built there
#   E2E_KEEP=1 scripts/e2e/run.sh      # leave the stack running afterwards (stop: scripts/e2e/stack.sh stop)
#   E2E_REGISTER_TESTS=0 ...           # skip scripts/e2e/register-test.sh (every register failure case, ~35 s)
#
# Ends with "e2e: N passed, N failed"; exit status 0 only if everything passed. Everything runs on 127.0.0.1;
# every process started is recorded by pid and stopped at exit. Logs: $E2E_HOME/logs (default /tmp/certyo-e2e).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd -P)
ROOT=$(cd "$HERE/../.." && pwd -P)
T0=$SECONDS
say() { echo "e2e: $*" >&2; }

# --- the stack, cleanup at exit, psql_admin and the binaries
source "$HERE/common.sh" run

# --- database: a known starting state, no slot left from an earlier run
psql_admin -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'certyo_slot'" >/dev/null
psql_admin <"$HERE/seed.sql" >/dev/null

tally() {  # tally OUTPUT_FILE: adds its "N passed, N failed" line to the totals
    local line; line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$1" | tail -1 || true)
    if [ -z "$line" ]; then failed=$((failed + 1)); echo "FAIL $1 has no result line"; return; fi
    passed=$((passed + $(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line")))
    failed=$((failed + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
}

# --- every register case against the real worker (its last case registers the shipped connector.json)
if [ "${E2E_REGISTER_TESTS:-1}" = 1 ]; then
    "$HERE/register-test.sh" 2>&1 | grep -v '^E2E_\|^e2e/stack.sh' | tee "$RUN/register-test.out" || true
    tally "$RUN/register-test.out"
fi

# --- the emulator (a random key, given to certyo-cdc as a key file)
start_emulator 1

# --- certyo-cdc run, configured as deploy/certyo-cdc.env.example does (schemaless envelopes + PG_DSN)
CDC_PASSWORD=$(sed -n 's/^database\.password=//p' "$E2E_CONNECT_SECRETS")
CERTYO_BASE_URL=$EMULATOR_URL CERTYO_API_KEY_FILE=$RUN/api-key CERTYO_TENANT_ID=$TENANT \
    KAFKA_BOOTSTRAP_SERVERS=$E2E_KAFKA_BOOTSTRAP CERTYO_GROUP_ID=e2e-$RANDOM$RANDOM CERTYO_BATCH_LINGER=50ms \
    PG_DSN="postgresql://certyo_cdc:$CDC_PASSWORD@127.0.0.1:$E2E_PG_PORT/productdb" CERTYO_LOG_LEVEL=info \
    setsid "$BIN/certyo-cdc" run >"$RUN/certyo-cdc.out" 2>"$RUN/certyo-cdc.log" </dev/null &
echo $! >"$RUN/certyo-cdc.pid"

# --- the user's registration step (connector.json as shipped)
register_connector
cat "$RUN/register.out" >&2

# --- snapshot first (so the workload's changes are streamed, not folded into the snapshot), then the workload
python3 "$HERE/check_records.py" "$EMULATOR_URL" "$RUN/api-key" "$TENANT" "$HERE/expected-records.json" snapshot 90 \
    | tee "$RUN/check-snapshot.out"
tally "$RUN/check-snapshot.out"
psql_admin <"$HERE/workload.sql" >/dev/null
python3 "$HERE/check_records.py" "$EMULATOR_URL" "$RUN/api-key" "$TENANT" "$HERE/expected-records.json" all 90 \
    | tee "$RUN/check-all.out"
tally "$RUN/check-all.out"

# --- the truncate: logged as a warning naming the table, and nothing stored for it (checked above: no extra record)
truncate_logged() { grep 'TRUNCATE is not anchored' "$RUN/certyo-cdc.log" | grep -q order_lines; }
check truncate-logged "no 'TRUNCATE is not anchored' warning naming order_lines in $RUN/certyo-cdc.log" \
    wait_for 10 truncate_logged
check certyo-cdc-alive "certyo-cdc exited: $(tail -3 "$RUN/certyo-cdc.log" 2>/dev/null)" kill -0 "$(cat "$RUN/certyo-cdc.pid")"
nothing_dead_lettered() { ! grep -q 'record dead-lettered' "$RUN/certyo-cdc.log"; }
check nothing-dead-lettered "certyo-cdc dead-lettered a record" nothing_dead_lettered
check compose-config "scripts/e2e/compose-check.sh failed (see above)" "$HERE/compose-check.sh"
check no-secret-in-logs "the database password or the API key appears in a log" no_secret

echo "e2e: finished in $((SECONDS - T0)) s"
echo "e2e: $passed passed, $failed failed"
[ "$failed" = 0 ]
