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
