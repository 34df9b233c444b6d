#!/usr/bin/env bash
# tests/e2e/setup.sh — prepares a machine for the end-to-end suite: Debian's Chromium (installed
# when missing, as root), a recent enough Node, the gateway binary (built unless PORTCULLIS_BIN
# names one) and the suite's locked npm packages. Safe to run again; every missing piece that
# it cannot provide is an error, never a skip.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

fail() {
  echo "tests/e2e/setup.sh: $*" >&2
  exit 1
}

# Chromium: the suite drives the system's browser, not a downloaded one.
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  if [ -n "${CHROMIUM:-}" ]; then
    fail "CHROMIUM=$CHROMIUM is not an executable file"
  fi
  if [ "$(id -u)" -ne 0 ]; then
    fail "/usr/bin/chromium is missing; install it as root (apt-get install -y chromium) or set CHROMIUM"
  fi
  command -v apt-get > /dev/null || fail "/usr/bin/chromium is missing and this is not a Debian-like system (no apt-get)"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
  [ -x /usr/bin/chromium ] || fail "apt-get installed chromium but /usr/bin/chromium is still missing"
fi

# Node: the test runner options used by `npm test` need 20.11 or later.
command -v node > /dev/null || fail "node is missing; install Node 20.11 or later"
command -v npm > /dev/null || fail "npm is missing; install it with Node 20.11 or later"
node -e '
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 20 || (major === 20 && minor < 11)) process.exit(1);
' || fail "node $(node --version) is too old; the suite needs 20.11 or later"

# The gateway under test, built from this checkout so the suite never runs a stale binary.
if [ -z "${PORTCULLIS_BIN:-}" ]; then
  command -v cargo > /dev/null || fail "cargo is missing: install a Rust toolchain, or set PORTCULLIS_BIN to a built gateway"
  (cd "$repo" && cargo build -p portcullis --bin portcullis)
else
  # Relative to tests/e2e, as the suite itself reads it.
  case "$PORTCULLIS_BIN" in
    /*) bin="$PORTCULLIS_BIN" ;;
    *) bin="$here/$PORTCULLIS_BIN" ;;
  esac
  [ -x "$bin" ] || fail "PORTCULLIS_BIN=$PORTCULLIS_BIN ($bin) is not an executable file"
fi

# Exactly the locked packages (playwright-core); ci also removes anything else in node_modules.
cd "$here"
npm ci --no-audit --no-fund
