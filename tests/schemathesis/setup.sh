#!/usr/bin/env bash
# Installs Schemathesis, pinned, into a virtualenv of its own under target/schemathesis (the
# OpenAPI test, tests/api/schemathesis.rs, runs it from there). Does nothing when that version
# is already in place. Needs python3 with venv; on Debian, as root, installs python3-venv when
# it is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

VERSION=4.32.5
venv=target/schemathesis

if [ "$("$venv/bin/st" --version 2>/dev/null)" = "st, version $VERSION" ]; then
    exit 0
fi
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    else
        echo "schemathesis: python3 with venv is needed (Debian: apt-get install python3-venv)" >&2
        exit 1
    fi
fi
echo "schemathesis: installing $VERSION into $venv" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
"$venv/bin/st" --version
