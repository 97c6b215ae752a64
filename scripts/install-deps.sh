#!/usr/bin/env bash
# Installs the system packages certyo-cdc builds, tests and demos with (Debian/Ubuntu). Idempotent: no apt call
# when everything is present. Needs root or passwordless sudo for the install itself.
set -euo pipefail

need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for pkg in librdkafka-dev libpq-dev postgresql-15 ${CERTYO_EXTRA_APT:-}; do
    have "$pkg" || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
        echo "install-deps: missing packages: ${need[*]}; run: sudo apt-get install -y ${need[*]}" >&2
        exit 1
    fi
fi
echo "install-deps: installing ${need[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
