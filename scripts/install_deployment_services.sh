#!/usr/bin/env bash
# Installs Debian's PostgreSQL and Redis for the deployment test (tests/deployment/), only when missing.
# Idempotent and non-interactive. Nothing is started here: the test initialises its own throwaway
# cluster and Redis on loopback ports and stops them afterwards (no init system starts Debian's own).
set -euo pipefail

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_deployment_services.sh: ${missing[*]} missing and apt-get is not available" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "installing ${missing[*]} needs root" >&2; exit 1; }
    SUDO="sudo -n"
fi

echo "install_deployment_services.sh: installing ${missing[*]} (apt-get)..." >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
ls /usr/lib/postgresql/*/bin/initdb >/dev/null
command -v redis-server >/dev/null
