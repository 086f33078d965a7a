#!/usr/bin/env sh
# A Java runtime for the Spark tests (Spark 4 needs Java 17+), from Debian's packages. Installs only when
# `java` is missing. As root (CI) it installs; elsewhere it says why the Spark tests will skip.
set -eu
if command -v java >/dev/null 2>&1; then
    exit 0
fi
PACKAGES="default-jre-headless"
if [ "$(id -u)" = "0" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
elif [ "${CI:-}" = "true" ]; then
    echo "install-java: CI needs Java 17+ for the Spark tests but cannot install it (not root, no sudo)" >&2
    exit 1
else
    echo "install-java: Java is missing and installing it needs root" \
         "(apt-get install default-jre-headless); the Spark tests will skip" >&2
fi
