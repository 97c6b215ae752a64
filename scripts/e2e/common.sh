# Sourced by scripts/e2e/run.sh and scripts/e2e/verify-live.sh after they set HERE, ROOT, say() and E2E_*:
# starts a fresh stack (broker and Connect worker; PostgreSQL is kept), makes $RUN (first argument: its name under
# $E2E_HOME), stops what the test started at exit, defines psql_admin, and sets BIN to the certyo-cdc and
# certyo-emulator binaries (E2E_BIN_DIR, else a debug build).
"$HERE/stack.sh" stop
eval "$("$HERE/stack.sh" start | sed 's/^/export /')"
RUN=$E2E_HOME/$1
rm -rf "$RUN"; mkdir -p "$RUN"
cleanup() {
    for name in certyo-cdc emulator; do
        if [ -s "$RUN/$name.pid" ] && kill -0 "$(cat "$RUN/$name.pid")" 2>/dev/null; then
            kill "$(cat "$RUN/$name.pid")" 2>/dev/null || true
            for _ in $(seq 200); do kill -0 "$(cat "$RUN/$name.pid")" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$(cat "$RUN/$name.pid")" 2>/dev/null || true
        fi
    done
    [ "${E2E_KEEP:-0}" = 1 ] || "$HERE/stack.sh" stop
}
trap cleanup EXIT
psql_admin() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- psql -h "$E2E_PG_SOCKET_DIR" -p "$E2E_PG_PORT" -U postgres -d productdb -qAt -v ON_ERROR_STOP=1 "$@"
    else
        psql -h "$E2E_PG_SOCKET_DIR" -p "$E2E_PG_PORT" -U postgres -d productdb -qAt -v ON_ERROR_STOP=1 "$@"
    fi
}

if [ -n "${E2E_BIN_DIR:-}" ]; then
    BIN=$(cd "$E2E_BIN_DIR" && pwd -P)
else
    say "building certyo-cdc and certyo-emulator (debug)"
    (cd "$ROOT" && swift build --product certyo-cdc >"$E2E_HOME/logs/swift-build.log" 2>&1 &&
        swift build --product certyo-emulator >>"$E2E_HOME/logs/swift-build.log" 2>&1) ||
        { tail -20 "$E2E_HOME/logs/swift-build.log" >&2; exit 1; }
    BIN=$(cd "$ROOT" && swift build --show-bin-path)
fi
[ -x "$BIN/certyo-cdc" ] && [ -x "$BIN/certyo-emulator" ] || { say "no certyo-cdc/certyo-emulator in $BIN"; exit 1; }

# --- results: check NAME WHAT COMMAND... counts a PASS or a FAIL (WHAT says what went wrong)
passed=0 failed=0
check() {
    local name=$1 what=$2; shift 2
    if "$@"; then passed=$((passed + 1)); echo "PASS $name"; else failed=$((failed + 1)); echo "FAIL $name: $what"; fi
}
wait_for() {  # wait_for SECONDS COMMAND...: true as soon as COMMAND succeeds, false after SECONDS
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.2; done
}

# --- start_emulator ACCUMULATE_SECONDS: the Certyo emulator with a fresh random key (certyo-cdc reads it from
# $RUN/api-key); sets TENANT, API_KEY, EMULATOR_URL; exits when it does not answer within 30 s.
start_emulator() {
    TENANT=e2e-tenant
    (umask 077; printf 'cty_e2e_%s' "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" >"$RUN/api-key")
    API_KEY=$(cat "$RUN/api-key")
    printf '%s=%s\n' "$API_KEY" "$TENANT" >"$RUN/emulator-keys"
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    EMULATOR_URL=http://127.0.0.1:$port
    setsid "$BIN/certyo-emulator" --host 127.0.0.1 --port "$port" --keys-file "$RUN/emulator-keys" \
        --accumulate-interval "$1" --anchor-delay "$1" >"$RUN/emulator.out" 2>"$RUN/emulator.log" </dev/null &
    echo $! >"$RUN/emulator.pid"
    emulator_up() {
        curl -s -m 1 -o /dev/null -f "$EMULATOR_URL/__admin/counters" || ! kill -0 "$(cat "$RUN/emulator.pid")" 2>/dev/null
    }
    wait_for 30 emulator_up && curl -s -m 1 -o /dev/null -f "$EMULATOR_URL/__admin/counters" ||
        { say "the emulator did not start: $(tail -5 "$RUN/emulator.log")"; exit 1; }
}

# --- register_connector: the user's registration step, with connector.json as shipped except for where this stack
# keeps the secret; the script's output goes to $RUN/register.out.
register_connector() {
    jq --arg p "$E2E_CONNECT_SECRETS" \
        '.config |= with_entries(.value |= sub("/run/secrets/connect-secrets.properties"; $p))' \
        "$ROOT/connector.json" >"$RUN/connector.json"
    CONNECT_URL=$E2E_CONNECT_URL "$ROOT/deploy/register-connector.sh" "$RUN/connector.json" >"$RUN/register.out" 2>&1 ||
        { cat "$RUN/register.out" >&2; exit 1; }
}

# --- no_secret: neither the database password nor the API key is in any output of this run or the Connect worker
no_secret() {
    local files=("$RUN"/*.out "$RUN"/*.err "$RUN"/*.log "$E2E_HOME"/logs/connect.*)
    ! grep -qF -e "$CDC_PASSWORD" -e "$API_KEY" "${files[@]}" 2>/dev/null
}
