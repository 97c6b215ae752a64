#!/usr/bin/env bash
# Live test of the verification worker and `certyo-cdc prove` against the real Debezium connector streaming from a
# real PostgreSQL (the e2e stack: scripts/e2e/stack.sh). Checks:
#   - the snapshot is anchored and the worker writes `anchored` for every row, under the hash prove computes;
#   - the write-back is idempotent and loops nowhere: over 8 later passes (counted in /metrics) the emulator stores no extra
#     version, the connector's topics get no new event, and the status table is not rewritten;
#   - a change through capture is anchored once (exactly one new version) and the worker follows it;
#   - a change made while capture is off (the table taken out of the publication) never reaches Certyo (shown by a
#     marker changed through capture after it: one more version, one more event) and is reported `tampered` by
#     prove (exit 1), the rows changed through capture `intact` (exit 0), every other row `intact`;
#   - the worker marks the tampered row `failed` after its grace period; no secret reaches any log.
#
#   scripts/e2e/verify-live.sh                     # builds certyo-cdc and certyo-emulator (debug) when needed
#   E2E_BIN_DIR=.build/debug scripts/e2e/verify-live.sh
#
# Runs its own stack under $E2E_HOME (default /tmp/certyo-e2e-verify; PostgreSQL on 25470, Connect REST on 18093) so
# it can run next to scripts/e2e/run.sh. Ends with "verify-live: N passed, N failed"; exit 0 only if all passed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd -P)
ROOT=$(cd "$HERE/../.." && pwd -P)
export E2E_HOME=${E2E_HOME:-/tmp/certyo-e2e-verify} E2E_PG_PORT=${E2E_PG_PORT:-25470}
export E2E_CONNECT_PORT=${E2E_CONNECT_PORT:-18093}
T0=$SECONDS
say() { echo "verify-live: $*" >&2; }

# --- the stack, cleanup at exit, psql_admin and the binaries
source "$HERE/common.sh" verify-run

# --- database: the seed rows, no slot or status left from an earlier run; the CDC role may create the status table
psql_admin -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'certyo_slot'" >/dev/null
psql_admin <"$HERE/seed.sql" >/dev/null
psql_admin -c "DROP SCHEMA IF EXISTS certyo CASCADE" -c "CREATE SCHEMA certyo AUTHORIZATION certyo_cdc" >/dev/null

# --- the emulator and certyo-cdc run with the worker on (pipeline + worker in one process, as deployed)
start_emulator 0.5
stored() { curl -s -m 5 "$EMULATOR_URL/__admin/counters" | jq .recordsStored; }

CDC_PASSWORD=$(sed -n 's/^database\.password=//p' "$E2E_CONNECT_SECRETS")
export CERTYO_BASE_URL=$EMULATOR_URL CERTYO_API_KEY_FILE=$RUN/api-key CERTYO_TENANT_ID=$TENANT
export PG_DSN="postgresql://certyo_cdc:$CDC_PASSWORD@127.0.0.1:$E2E_PG_PORT/productdb"
HTTP_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
KAFKA_BOOTSTRAP_SERVERS=$E2E_KAFKA_BOOTSTRAP CERTYO_GROUP_ID=verify-$RANDOM$RANDOM CERTYO_BATCH_LINGER=50ms \
    CERTYO_HTTP_HOST=127.0.0.1 CERTYO_HTTP_PORT=$HTTP_PORT \
    CERTYO_VERIFY_ENABLED=true CERTYO_VERIFY_INTERVAL=500ms CERTYO_VERIFY_GRACE_PERIOD=3s CERTYO_LOG_LEVEL=info \
    setsid "$BIN/certyo-cdc" run >"$RUN/certyo-cdc.out" 2>"$RUN/certyo-cdc.log" </dev/null &
echo $! >"$RUN/certyo-cdc.pid"

register_connector

ROWS=$(psql_admin -c "SELECT (SELECT count(*) FROM public.products) + (SELECT count(*) FROM public.order_lines)")
status_count() {  # status_count STATUS: rows of the status table in that status
    psql_admin -c "SELECT count(*) FROM certyo.record_status WHERE certyo_anchor_status = '$1'" 2>/dev/null || echo 0
}
all_anchored() { [ "$(stored)" = "$ROWS" ] && [ "$(status_count anchored)" = "$ROWS" ]; }
check snapshot-anchored-and-written-back "not all $ROWS rows anchored in certyo.record_status within 120 s" \
    wait_for 120 all_anchored

# --- no loop: later passes store nothing, emit nothing, rewrite nothing
topic_ends() {
    "$E2E_VENV/bin/python" - "$E2E_KAFKA_BOOTSTRAP" <<'PY'
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "verify-live-probe"})
md = c.list_topics(timeout=10)
total, names = 0, []
for name, topic in sorted(md.topics.items()):
    if not name.startswith("certyo."):
        continue
    names.append(name)
    for p in topic.partitions:
        total += c.get_watermark_offsets(TopicPartition(name, p), timeout=10)[1]
print(total, ",".join(names))
c.close()
PY
}
passes_done() {  # verification passes completed so far, from /metrics
    curl -s -m 5 "http://127.0.0.1:$HTTP_PORT/metrics" | awk '$1 == "certyo_cdc_verification_passes_total" { print $2 }'
}
passes_since() { [ "$(passes_done)" -ge $(($1 + $2)) ]; }  # passes_since BEFORE N: N more passes completed
BEFORE_STORED=$(stored); BEFORE_TOPICS=$(topic_ends)
BEFORE_UPDATED=$(psql_admin -c "SELECT max(updated_at) FROM certyo.record_status")
check worker-keeps-passing "fewer than 8 verification passes completed within 60 s" \
    wait_for 60 passes_since "$(passes_done)" 8
check no-extra-version "the emulator stored more versions ($BEFORE_STORED -> $(stored))" [ "$(stored)" = "$BEFORE_STORED" ]
AFTER_TOPICS=$(topic_ends)
say "after $(passes_done) passes: $(stored) versions stored; topic end offsets (sum, topics): $AFTER_TOPICS"
check no-event-loop "the connector's topics grew ($BEFORE_TOPICS -> $AFTER_TOPICS)" [ "$AFTER_TOPICS" = "$BEFORE_TOPICS" ]
no_status_topic() { ! grep -q record_status <<<"$AFTER_TOPICS"; }
check status-table-not-captured "a topic for the status table exists: $AFTER_TOPICS" no_status_topic
check write-back-idempotent "the status table was rewritten" \
    [ "$(psql_admin -c "SELECT max(updated_at) FROM certyo.record_status")" = "$BEFORE_UPDATED" ]

# --- a change through capture: exactly one new version, followed by the worker
psql_admin -c "UPDATE public.products SET price = 23.45, updated_at = '2024-05-01 08:00:00+00' WHERE id = 1" >/dev/null
one_more() { [ "$(stored)" = "$((BEFORE_STORED + 1))" ]; }
check captured-change-anchored-once "the emulator does not hold exactly one more version" wait_for 60 one_more
NEW_HASH=$("$BIN/certyo-cdc" prove --table public.products --id 1 --json 2>"$RUN/prove-hash.err" | jq -r .rowHash)
followed() {
    [ "$(psql_admin -c "SELECT certyo_record_hash || ' ' || certyo_anchor_status FROM certyo.record_status
                         WHERE collection = 'public.products' AND record_id = '1'")" = "$NEW_HASH anchored" ]
}
check worker-follows-captured-change "record 1 is not anchored under $NEW_HASH" wait_for 60 followed

# --- tampering while capture is off: the table leaves the publication for one statement
psql_admin -c "ALTER PUBLICATION certyo_publication DROP TABLE public.order_lines" \
    -c "UPDATE public.order_lines SET quantity = 999 WHERE order_id = 1001 AND line_no = 1" \
    -c "ALTER PUBLICATION certyo_publication ADD TABLE public.order_lines" >/dev/null
# A marker changed through capture after the tampering, in the same table: once it is anchored, an event for the
# tampering (earlier in the WAL) would have been produced before it. Exactly one more version and one more event
# (the marker's) show the tampering was not captured.
TOPICS_BEFORE_MARKER=$(topic_ends)
psql_admin -c "UPDATE public.order_lines SET note = 'marker' WHERE order_id = 1001 AND line_no = 2" >/dev/null
two_more() { [ "$(stored)" -ge "$((BEFORE_STORED + 2))" ]; }
check marker-anchored "the marker change was not anchored within 60 s" wait_for 60 two_more
check tampering-not-captured "the emulator holds $(stored) versions, expected $((BEFORE_STORED + 2))" \
    [ "$(stored)" = "$((BEFORE_STORED + 2))" ]
one_more_event() { [ "$(cut -d' ' -f1 <<<"$(topic_ends)")" = "$(($(cut -d' ' -f1 <<<"$TOPICS_BEFORE_MARKER") + 1))" ]; }
check tampering-no-event "the connector's topics did not grow by exactly the marker's event" one_more_event
MARKER_HASH=$("$BIN/certyo-cdc" prove --table public.order_lines --key order_id=1001 --key line_no=2 --json \
    2>"$RUN/prove-marker.err" | jq -r .rowHash)
marker_followed() {
    [ "$(psql_admin -c "SELECT certyo_record_hash || ' ' || certyo_anchor_status FROM certyo.record_status
                         WHERE collection = 'public.order_lines' AND record_id = '[1001,2]'")" = "$MARKER_HASH anchored" ]
}
check worker-follows-marker "record [1001,2] is not anchored under $MARKER_HASH" wait_for 60 marker_followed
set +e
"$BIN/certyo-cdc" prove --table public.order_lines --key order_id=1001 --key line_no=1 >"$RUN/prove-tampered.out" 2>"$RUN/prove-tampered.err"
TAMPERED_EXIT=$?
"$BIN/certyo-cdc" prove --table public.products --id 1 >"$RUN/prove-legit.out" 2>"$RUN/prove-legit.err"
LEGIT_EXIT=$?
"$BIN/certyo-cdc" prove --table public.products --json >"$RUN/prove-products.out" 2>"$RUN/prove-products.err"
PRODUCTS_EXIT=$?
"$BIN/certyo-cdc" prove --table public.order_lines --json >"$RUN/prove-lines.out" 2>"$RUN/prove-lines.err"
LINES_EXIT=$?
set -e
prove_tampered() {
    [ "$TAMPERED_EXIT" = 1 ] && grep -q '^public.order_lines \[1001,1\]: tampered' "$RUN/prove-tampered.out"
}
prove_legit() { [ "$LEGIT_EXIT" = 0 ] && grep -q '^public.products 1: intact' "$RUN/prove-legit.out"; }
prove_products() {
    [ "$PRODUCTS_EXIT" = 0 ] &&
        jq -e 'select(.summary) | .summary.intact == .summary.rows and .summary.rows > 0' "$RUN/prove-products.out" >/dev/null
}
prove_lines() {
    [ "$LINES_EXIT" = 1 ] &&
        jq -e 'select(.summary) | .summary.tampered == 1 and .summary.intact == .summary.rows - 1' "$RUN/prove-lines.out" >/dev/null
}
check prove-tampered "exit $TAMPERED_EXIT, $(head -1 "$RUN/prove-tampered.out")" prove_tampered
check prove-legit-intact "exit $LEGIT_EXIT, $(head -1 "$RUN/prove-legit.out")" prove_legit
check prove-products-all-intact "exit $PRODUCTS_EXIT: $(tail -1 "$RUN/prove-products.out")" prove_products
check prove-lines-exactly-one-tampered "exit $LINES_EXIT: $(tail -1 "$RUN/prove-lines.out")" prove_lines
failed_written() {
    [ "$(psql_admin -c "SELECT certyo_anchor_status FROM certyo.record_status
                         WHERE collection = 'public.order_lines' AND record_id = '[1001,1]'")" = failed ]
}
check worker-marks-tampering-failed "record [1001,1] is not failed" wait_for 30 failed_written
check no-extra-version-at-end "the emulator holds $(stored) versions, expected $((BEFORE_STORED + 2))" \
    [ "$(stored)" = "$((BEFORE_STORED + 2))" ]
check certyo-cdc-alive "certyo-cdc exited: $(tail -3 "$RUN/certyo-cdc.log")" kill -0 "$(cat "$RUN/certyo-cdc.pid")"
check no-secret-in-output "the database password or the API key appears in a log or output" no_secret

echo "verify-live: finished in $((SECONDS - T0)) s"
echo "verify-live: $passed passed, $failed failed"
[ "$failed" = 0 ]
