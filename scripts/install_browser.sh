#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (tests/browser/), only when it is missing.
# Idempotent and non-interactive; never downloads a browser through Playwright.
# Needs root (or passwordless sudo) the first time; does nothing when /usr/bin/chromium exists.
set -euo pipefail

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser.sh: $CHROMIUM is missing and apt-get is not available;" \
         "install Chromium yourself or set CHROMIUM_PATH" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        echo "install_browser.sh: installing Chromium needs root (apt-get install chromium)" >&2
        exit 1
    fi
fi

echo "install_browser.sh: installing Debian chromium (apt-get)..." >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null

if [ ! -x "$CHROMIUM" ]; then
    echo "install_browser.sh: apt-get finished but $CHROMIUM is still missing" >&2
    exit 1
fi
"$CHROMIUM" --version >&2 || true
