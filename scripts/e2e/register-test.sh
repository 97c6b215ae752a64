#!/usr/bin/env bash
# Tests deploy/register-connector.sh against the real Kafka Connect worker of scripts/e2e/stack.sh: success and an
# idempotent second run, and each documented failure (Connect unreachable, connector class missing, a 400 for bad
# credentials, a task FAILED after a 201 for a missing publication, then recovery once the publication exists).
#   scripts/e2e/register-test.sh          # starts the stack if needed (left running: stop it with stack.sh stop)
# Ends with "N passed, N failed"; exits non-zero when a case failed. The connectors it registers are deleted.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd -P)
ROOT=$(cd "$HERE/../.." && pwd -P)
eval "$("$HERE/stack.sh" start | sed 's/^/export /')"
REGISTER=$ROOT/deploy/register-connector.sh
work=$E2E_HOME/register-test
rm -rf "$work"; mkdir -p "$work"
passed=0 failed=0
psql_admin() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- psql -h "$E2E_PG_SOCKET_DIR" -p "$E2E_PG_PORT" -U postgres -d productdb -qAt -v ON_ERROR_STOP=1 "$@"
    else psql -h "$E2E_PG_SOCKET_DIR" -p "$E2E_PG_PORT" -U postgres -d productdb -qAt -v ON_ERROR_STOP=1 "$@"; fi
}
# variant NAME JQ_FILTER: connector.json with the secret path of this stack, renamed, then changed by JQ_FILTER;
# test connectors write to their own topics (regtest.*), never into the certyo.* topics certyo-cdc reads
variant() {
    jq --arg p "$E2E_CONNECT_SECRETS" --arg n "$1" \
        ".name = \$n | .config |= with_entries(.value |= sub(\"/run/secrets/connect-secrets.properties\"; \$p))
         | if \$n != \"certyo-postgres-connector\" then .config[\"topic.prefix\"] = \"regtest\" else . end | $2" \
        "$ROOT/connector.json" >"$work/$1.json"
    echo "$work/$1.json"
}
cleanup_connector() {  # cleanup_connector NAME SLOT
    curl -s -o /dev/null -X DELETE "$E2E_CONNECT_URL/connectors/$1" || true
    for _ in $(seq 100); do
        psql_admin -c "SELECT 1 FROM pg_replication_slots WHERE slot_name = '$2' AND active" | grep -q 1 || break
        sleep 0.1
    done
    psql_admin -c "SELECT pg_drop_replication_slot('$2') FROM pg_replication_slots WHERE slot_name = '$2'" >/dev/null || true
}
# expect CASE EXIT_CODE TEXT -- COMMAND...: the command exits with EXIT_CODE and its stderr contains TEXT
expect() {
    local name=$1 want=$2 text=$3; shift 4
    local code=0 start=$SECONDS
    "$@" >"$work/out" 2>"$work/err" || code=$?
    if [ "$code" = "$want" ] && grep -qF -- "$text" "$work/err" && ! grep -qF -- "$SECRET" "$work/out" "$work/err"; then
        passed=$((passed + 1)); echo "PASS $name ($((SECONDS - start)) s): $(tail -1 "$work/err")"
    else
        failed=$((failed + 1))
        echo "FAIL $name: exit $code (want $want), stderr must contain '$text' and no secret:"; sed 's/^/    /' "$work/err" "$work/out"
    fi
}
SECRET=$(sed -n 's/^database\.password=//p' "$E2E_CONNECT_SECRETS")
export CONNECT_URL=$E2E_CONNECT_URL RUNNING_TIMEOUT_SECONDS=60

# 1. Connect unreachable (a port nothing listens on)
free_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
expect unreachable 3 "did not answer within 2s" -- \
    env CONNECT_URL=http://127.0.0.1:$free_port CONNECT_WAIT_SECONDS=2 "$REGISTER" "$(variant t-unreachable .)"

# 2. connector class missing on the worker
expect class-missing 4 "has no connector plugin io.debezium.connector.postgresql.NoSuchConnector" -- \
    "$REGISTER" "$(variant t-class '.config["connector.class"] = "io.debezium.connector.postgresql.NoSuchConnector"')"

# 3. a 400: bad credentials (the wrong password must not appear either)
SECRET_SAVED=$SECRET
SECRET=wrong-pw-$RANDOM$RANDOM
expect bad-credentials 5 "password authentication failed" -- \
    "$REGISTER" "$(variant t-badpw ".config[\"database.password\"] = \"$SECRET\" | .config[\"slot.name\"] = \"t_badpw_slot\"")"
SECRET=$SECRET_SAVED
cleanup_connector t-badpw t_badpw_slot

# 4. 201, then the task FAILS: the publication does not exist; 5. recovery after creating it (a re-run restarts it)
psql_admin -c 'DROP PUBLICATION IF EXISTS t_missing_pub'
nopub=$(variant t-nopub '.config["publication.name"] = "t_missing_pub" | .config["slot.name"] = "t_nopub_slot"')
expect missing-publication 6 "create the publication" -- "$REGISTER" "$nopub"
psql_admin -c 'CREATE PUBLICATION t_missing_pub FOR TABLE public.products'
expect recovers-after-fix 0 "are RUNNING" -- "$REGISTER" "$nopub"
cleanup_connector t-nopub t_nopub_slot
psql_admin -c 'DROP PUBLICATION IF EXISTS t_missing_pub'

# 6. the shipped connector.json: created, then an idempotent second run
main=$(variant certyo-postgres-connector .)
curl -s -o /dev/null -X DELETE "$E2E_CONNECT_URL/connectors/certyo-postgres-connector" || true
expect creates 0 "created connector certyo-postgres-connector" -- "$REGISTER" "$main"
expect second-run-is-update 0 "updated connector certyo-postgres-connector" -- "$REGISTER" "$main"

echo "register-connector: $passed passed, $failed failed"
[ "$failed" = 0 ]
