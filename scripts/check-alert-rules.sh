#!/usr/bin/env bash
# Checks deploy/prometheus/certyo-cdc-alerts.yml: `promtool check rules` and the rule unit tests
# (certyo-cdc-alerts.test.yml) when promtool is installed (Debian package "prometheus", installed here through
# scripts/install-deps.sh unless CERTYO_SKIP_PROMTOOL=1); otherwise at least that it parses as YAML with the expected
# shape.
set -euo pipefail
cd "$(dirname "$0")/.."
rules=deploy/prometheus/certyo-cdc-alerts.yml
tests=deploy/prometheus/certyo-cdc-alerts.test.yml

if [ "${CERTYO_SKIP_PROMTOOL:-0}" != 1 ] && ! command -v promtool >/dev/null; then
    CERTYO_EXTRA_APT=prometheus scripts/install-deps.sh || echo "check-alert-rules: cannot install promtool" >&2
fi
if command -v promtool >/dev/null; then
    promtool check rules "$rules"
    promtool test rules "$tests"
else
    echo "check-alert-rules: promtool not available; checking YAML shape only" >&2
    python3 - "$rules" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
names = []
for group in doc["groups"]:
    for rule in group["rules"]:
        assert {"alert", "expr", "labels", "annotations"} <= rule.keys(), rule
        assert rule["labels"]["severity"] in ("warning", "critical"), rule
        names.append(rule["alert"])
assert len(names) == len(set(names)), "duplicate alert names"
print(f"{sys.argv[1]}: {len(names)} rules parse")
PY
fi
