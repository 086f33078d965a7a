#!/usr/bin/env sh
# Chromium for the browser tests, from Debian's packages. Installs only when missing.
# As root (CI) it installs; elsewhere it says why the browser tests will skip.
set -eu
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" = "0" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
elif [ "${CI:-}" = "true" ]; then
    echo "install-browser: CI needs Chromium but cannot install it (not root, no sudo)" >&2
    exit 1
else
    echo "install-browser: Chromium is missing and installing it needs root" \
         "(apt-get install chromium); the browser tests will skip" >&2
fi
