#!/usr/bin/env bash
# The demo command (README): installs what is missing, builds certyo-cdc, and runs `certyo-cdc demo`, which starts
# librdkafka's mock Kafka and the Certyo emulator in-process and feeds them the shipped Debezium envelopes.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
echo "building certyo-cdc (the first build takes several minutes)..." >&2
swift build --product certyo-cdc >&2
exec "$(swift build --show-bin-path)/certyo-cdc" demo "$@"
