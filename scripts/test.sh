#!/usr/bin/env bash
# The test command (README): installs what is missing, starts a throwaway PostgreSQL, builds once (debug) and runs
# unit targets, then integration targets, then the end-to-end test through a real Kafka Connect worker
# (scripts/e2e/run.sh) and the live verification test (scripts/e2e/verify-live.sh); CERTYO_SKIP_E2E=1 skips both.
# Extra arguments go to `swift test` (e.g. --filter CDCCoreTests) and skip the end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
eval "$(scripts/test-postgres.sh start | sed 's/^/export /')"
trap 'scripts/test-postgres.sh stop' EXIT

swift build --build-tests
if [ $# -gt 0 ]; then
    swift test --skip-build "$@"
else
    swift test --skip-build --skip IntegrationTests
    swift test --skip-build --no-parallel --filter IntegrationTests
    if [ "${CERTYO_SKIP_E2E:-0}" != 1 ]; then
        E2E_BIN_DIR="$(swift build --show-bin-path)" scripts/e2e/run.sh
        E2E_BIN_DIR="$(swift build --show-bin-path)" scripts/e2e/verify-live.sh
    fi
fi
