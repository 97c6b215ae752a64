#!/usr/bin/env bash
# The test command (README): installs what is missing, starts a throwaway PostgreSQL, builds once (debug) and runs
# unit targets, then integration targets. Extra arguments go to `swift test` (e.g. --filter CDCCoreTests).
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
fi
