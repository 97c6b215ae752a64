#!/usr/bin/env bash
# Validates docker-compose.yml the way a user's first run meets it: in a scratch copy of the tracked deployment
# files, deploy/setup.sh creates the secrets and the env file (twice: it must be idempotent), then
# `docker compose config` (or Debian's docker-compose 1.29, installed with apt when no compose client is there)
# must accept the file with and without the emulator profile. No Docker engine is needed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if docker compose version >/dev/null 2>&1; then compose=(docker compose)
elif command -v docker-compose >/dev/null; then compose=(docker-compose)
else
    sudo=(); [ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
    { "${sudo[@]}" apt-get update -q && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q \
        --no-install-recommends docker-compose; } >"$scratch/apt.log" 2>&1 ||
        { echo "compose-check: no compose client and apt-get install docker-compose failed" >&2; tail -5 "$scratch/apt.log" >&2; exit 1; }
    compose=(docker-compose)
fi
cp -R "$ROOT/docker-compose.yml" "$ROOT/connector.json" "$scratch/"
mkdir -p "$scratch/deploy"
(cd "$ROOT" && git ls-files -z deploy 2>/dev/null || find deploy -type f -not -path 'deploy/secrets/*' -not -name certyo-cdc.env -print0) |
    (cd "$ROOT" && xargs -0 cp --parents -t "$scratch")
cd "$scratch"
if "${compose[@]}" config -q >/dev/null 2>&1; then
    echo "compose-check: the file was accepted without its secrets; it must name them" >&2; exit 1
fi
CERTYO_API_KEY=cty_compose_check deploy/setup.sh </dev/null >/dev/null
first=$(cat deploy/secrets/cdc-db.properties)
CERTYO_API_KEY=cty_other deploy/setup.sh </dev/null >/dev/null
[ "$first" = "$(cat deploy/secrets/cdc-db.properties)" ] || { echo "compose-check: setup.sh replaced a secret" >&2; exit 1; }
"${compose[@]}" config -q
services=$("${compose[@]}" --profile emulator config --services | sort | tr '\n' ' ')
[ "$services" = "certyo-cdc certyo-emulator connect kafka postgres " ] ||
    { echo "compose-check: unexpected services: $services" >&2; exit 1; }
! grep -rqF -e "$(sed -n 's/^database\.password=//p' deploy/secrets/cdc-db.properties)" -e cty_compose_check \
    docker-compose.yml connector.json || { echo "compose-check: a secret ended up in a tracked file" >&2; exit 1; }
echo "compose-check: ${compose[*]} config accepts docker-compose.yml (services: $services)"
