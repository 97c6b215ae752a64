#!/usr/bin/env bash
# Registers (creates or updates) the Debezium connector with Kafka Connect and waits until it streams.
#
#   deploy/register-connector.sh [CONNECTOR_JSON]        # default: connector.json next to deploy/
#
# Steps: wait for Connect's REST API; check the worker has the connector class; PUT /connectors/<name>/config with
# the file's "config" (creates it, or updates it in place: safe to run again); restart failed tasks of an unchanged
# connector; wait until the connector and every task are RUNNING (and still are a moment later) and print the
# status. Any failure ends with one line "register-connector: <cause>; fix: <what to do>" and a distinct exit code:
#   2 usage or unreadable file   3 Connect unreachable   4 connector class missing on the worker
#   5 configuration refused (HTTP 4xx, e.g. bad credentials)   6 connector or task FAILED   7 not RUNNING in time
# The configuration itself is never printed (it may name secrets; Connect's answers never echo the password).
#
# Environment: CONNECT_URL (http://localhost:8083), CONNECT_WAIT_SECONDS (how long to wait for the REST API, 120),
# RUNNING_TIMEOUT_SECONDS (how long to wait for RUNNING, 120), STABLE_SECONDS (RUNNING must hold this long, 2).
# Needs bash, curl and jq.
set -euo pipefail

CONNECT_URL=${CONNECT_URL:-http://localhost:8083}
CONNECT_URL=${CONNECT_URL%/}
CONNECT_WAIT_SECONDS=${CONNECT_WAIT_SECONDS:-120}
RUNNING_TIMEOUT_SECONDS=${RUNNING_TIMEOUT_SECONDS:-120}
STABLE_SECONDS=${STABLE_SECONDS:-2}
file=${1:-$(cd "$(dirname "$0")/.." && pwd)/connector.json}

fail() {  # fail CODE CAUSE FIX
    echo "register-connector: $2; fix: $3" >&2
    exit "$1"
}
log() { echo "register-connector: $*" >&2; }
for tool in curl jq; do
    command -v "$tool" >/dev/null || fail 2 "$tool is not installed" "install $tool (apt-get install $tool)"
done
[ $# -le 1 ] || fail 2 "too many arguments" "usage: $0 [CONNECTOR_JSON]"
[ -r "$file" ] || fail 2 "cannot read $file" "pass the path of connector.json"
jq -e 'type == "object" and (.name | type == "string") and (.config | type == "object")' "$file" >/dev/null 2>&1 ||
    fail 2 "$file is not {\"name\": ..., \"config\": {...}} JSON" "use the form of the repository's connector.json"
name=$(jq -r .name "$file")
class=$(jq -r '.config["connector.class"] // empty' "$file")
[ -n "$class" ] || fail 2 "$file has no config.connector.class" "add \"connector.class\": \"io.debezium.connector.postgresql.PostgresConnector\""
enc_name=$(jq -rn --arg n "$name" '$n | @uri')

body=$(mktemp)
trap 'rm -f "$body"' EXIT
# http METHOD PATH [DATA_FILE] -> prints the status code (000 when nothing answered); the body goes to $body
http() {
    local args=(-s -o "$body" -w '%{http_code}' -m 30 -X "$1" -H 'Accept: application/json')
    [ $# -lt 3 ] || args+=(-H 'Content-Type: application/json' --data-binary "@$3")
    curl "${args[@]}" "$CONNECT_URL$2" 2>/dev/null || true
}
# the message of a Connect error body ({"error_code":..., "message":...}), or the body itself
message() { jq -r '.message // empty' "$body" 2>/dev/null | tr -s '\n\t ' '   ' | head -c 2000 || true; }

# 1. Connect answers
deadline=$((SECONDS + CONNECT_WAIT_SECONDS))
while :; do
    code=$(http GET /)
    [ "$code" = 200 ] && break
    if [ $SECONDS -ge $deadline ]; then
        if [ "$code" = 000 ]; then
            fail 3 "Kafka Connect at $CONNECT_URL did not answer within ${CONNECT_WAIT_SECONDS}s" \
                "start the worker (docker compose up -d connect) or set CONNECT_URL to its REST address"
        fi
        fail 3 "Kafka Connect at $CONNECT_URL answers HTTP $code on / (not a Connect REST API?)" \
            "set CONNECT_URL to the worker's REST listener"
    fi
    sleep 1
done
log "Kafka Connect $(jq -r '.version // "?"' "$body") at $CONNECT_URL"

# 2. the worker has the connector class
code=$(http GET /connector-plugins)
[ "$code" = 200 ] || fail 3 "GET /connector-plugins answered HTTP $code: $(message)" "check the worker's log"
if ! jq -e --arg c "$class" 'any(.[]; .class == $c)' "$body" >/dev/null; then
    fail 4 "the Connect worker has no connector plugin $class (it has: $(jq -r '[.[].class] | join(", ")' "$body"))" \
        "run a worker with the Debezium PostgreSQL connector installed (the quay.io/debezium/connect image, or its jars on plugin.path) and restart it"
fi

# 3. create or update
config=$(mktemp)
trap 'rm -f "$body" "$config"' EXIT
jq .config "$file" > "$config"
for attempt in 1 2 3 4 5; do
    code=$(http PUT "/connectors/$enc_name/config" "$config")
    [ "$code" = 409 ] || break  # a rebalance is in progress: try again
    sleep "$attempt"
done
case $code in
    201) log "created connector $name"; updated=0 ;;
    200) log "updated connector $name (or left unchanged)"; updated=1 ;;
    000) fail 3 "Kafka Connect at $CONNECT_URL stopped answering during PUT" "check that the worker is running" ;;
    400|422)
        fail 5 "Kafka Connect refused the configuration of $name (HTTP $code): $(message)" \
            "correct the named setting in $file or the worker's environment/secret files (database host, port, user, password, database name) and run this again" ;;
    *) fail 5 "PUT /connectors/$name/config answered HTTP $code: $(message)" "check the worker's log" ;;
esac

# 4. wait for RUNNING; restart failed tasks once (an unchanged PUT does not restart them)
failed_summary() {  # one line per FAILED part: "task 0 FAILED: <first line of the trace>"
    jq -r '([{id: "connector", state: .connector.state, trace: .connector.trace}] +
            [.tasks[] | {id: "task \(.id)", state, trace}])[]
           | select(.state == "FAILED") | "\(.id) FAILED: \((.trace // "no trace") | split("\n")[0])"' "$body"
}
failed_fix() {
    local text; text=$(failed_summary)
    case $text in
        *ublication*) echo "create the publication named in $file (as a superuser: deploy/postgres-init/certyo-cdc.sql), then run this again" ;;
        *"replication slot"*|*slot*) echo "check the replication slot named in $file (another connector may hold it; max_replication_slots), then run this again" ;;
        *wal_level*|*"logical decoding"*) echo "set wal_level=logical on PostgreSQL and restart it, then run this again" ;;
        *ermission*|*"must be superuser"*|*REPLICATION*) echo "grant the CDC role REPLICATION and SELECT on the captured tables (deploy/postgres-init/certyo-cdc.sql), then run this again" ;;
        *) echo "read the trace (GET $CONNECT_URL/connectors/$name/status), correct the cause, then run this again" ;;
    esac
}
restarted=0
running_since=
deadline=$((SECONDS + RUNNING_TIMEOUT_SECONDS))
while :; do
    code=$(http GET "/connectors/$enc_name/status")
    if [ "$code" = 200 ]; then
        if jq -e '.connector.state == "RUNNING" and (.tasks | length > 0) and all(.tasks[]; .state == "RUNNING")' \
            "$body" >/dev/null; then
            now=$(date +%s)
            running_since=${running_since:-$now}
            if [ $((now - running_since)) -ge "$STABLE_SECONDS" ]; then
                log "connector $name and its tasks are RUNNING"
                jq -c '{name, connector: .connector.state, tasks: [.tasks[] | {id, state, worker_id}]}' "$body"
                exit 0
            fi
        else
            running_since=
        fi
        if jq -e '.connector.state == "FAILED" or any(.tasks[]; .state == "FAILED")' "$body" >/dev/null; then
            if [ "$restarted" = 0 ] && [ "$updated" = 1 ]; then
                restarted=1
                log "a task had FAILED before this update; restarting the failed parts once"
                http POST "/connectors/$enc_name/restart?includeTasks=true&onlyFailed=true" >/dev/null
                sleep 1
                continue
            fi
            summary=$(failed_summary)
            fail 6 "connector $name was accepted but does not run: ${summary//$'\n'/; }" "$(failed_fix)"
        fi
    fi
    if [ $SECONDS -ge $deadline ]; then
        fail 7 "connector $name is not RUNNING after ${RUNNING_TIMEOUT_SECONDS}s (status: $(jq -c . "$body" 2>/dev/null | head -c 1000))" \
            "read the worker's log; raise RUNNING_TIMEOUT_SECONDS if the initial snapshot of a big table is slow to start"
    fi
    sleep 0.5
done
