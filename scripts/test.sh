#!/usr/bin/env bash
# The test command (README): installs what is missing, starts a throwaway PostgreSQL, builds once (debug) and runs
# unit targets, then integration targets, then the benchmark's smoke test (scripts/bench.sh --quick), then the
# end-to-end test through a real Kafka Connect worker (scripts/e2e/run.sh) and the live verification test
# (scripts/e2e/verify-live.sh); CERTYO_SKIP_E2E=1 skips both. Extra arguments go to `swift test` (e.g. --filter
# CDCCoreTests) and skip the benchmark and the end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/check-alert-rules.sh
eval "$(scripts/test-postgres.sh start | sed 's/^/export /')"
trap 'scripts/test-postgres.sh stop' EXIT

swift build --build-tests
# The chaos suites (Tests/IntegrationTests/Chaos) start this binary as child processes.
export CERTYO_CDC_BIN="$(swift build --show-bin-path)/certyo-cdc"
if [ $# -gt 0 ]; then
    swift test --skip-build "$@"
else
    swift test --skip-build --skip IntegrationTests
    swift test --skip-build --no-parallel --filter IntegrationTests
    # The benchmark's smoke test (small counts, the debug build just made), so that it never rots.
    CERTYO_BENCH_DEBUG=1 CERTYO_BENCH_KEEP_PG=1 scripts/bench.sh --quick
    if [ "${CERTYO_SKIP_E2E:-0}" != 1 ]; then
        E2E_BIN_DIR="$(swift build --show-bin-path)" scripts/e2e/run.sh
        E2E_BIN_DIR="$(swift build --show-bin-path)" scripts/e2e/verify-live.sh
    fi
fi
