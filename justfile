# Portcullis task runner. `just --list` shows every recipe.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Serve the gateway on the embedded tier (SQLite under ./data), http://127.0.0.1:8080, with the
# demo app at http://127.0.0.1:8080/demo/ (set PORTCULLIS_DEMO=false to leave it out).
run *ARGS:
    PORTCULLIS_DEMO="${PORTCULLIS_DEMO:-true}" cargo run --release -p portcullis -- serve {{ARGS}}

# Make sure a Postgres and a Redis answer for the tests: DATABASE_URL / REDIS_URL (default: the
# local servers), else throwaway instances; writes their URLs to target/test-services/env.
services:
    tests/services.sh > /dev/null

# Run every test on both tiers: unit and store tests, the behavioural suite over real HTTP
# (embedded, then Postgres + Redis; Schemathesis against the OpenAPI document included), the
# production tier's replica and fault scenarios, the browser client library's own tests, and
# the demo app end to end in headless Chromium.
test: services client-test discovery-deps schemathesis-deps
    #!/usr/bin/env bash
    set -euo pipefail
    source target/test-services/env
    cargo build -p portcullis --bin portcullis
    cargo test --workspace --no-fail-fast
    TEST_TIER=production cargo test --workspace --test api --no-fail-fast
    just e2e

# The Node resource server the discovery test runs (openid-client + jose, tests/discovery/).
discovery-deps:
    cd tests/discovery && npm ci --no-audit --no-fund

# Schemathesis, pinned, in a virtualenv under target/schemathesis: the OpenAPI check runs it
# against the real gateway (tests/api/schemathesis.rs).
schemathesis-deps:
    tests/schemathesis/setup.sh

# The demo app in real headless Chromium (installs Debian's chromium when missing); the
# screenshot of the logged-in demo lands in tests/e2e/output/.
e2e:
    tests/e2e/setup.sh
    cd tests/e2e && npm test

# The browser client library (clients/js): types, unit tests, and that the committed bundle the
# server embeds is exactly what its sources build.
client-test:
    cd clients/js && npm ci --no-audit --no-fund && npm run typecheck && npm test && npm run check-dist

# Format the code.
fmt:
    cargo fmt --all

# Formatting and clippy, warnings denied.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Benchmark on both tiers, each figure against a baseline measured in the same run: verify
# against /healthz, chained refreshes against the rotation transaction through sqlx, logins
# against argon2id on every core, verify p99 during a login flood against idle, the built-in
# proxy against verify. Ends with one table, also in target/bench/summary.json (needs wrk).
bench SECONDS="5":
    command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk)
    tests/bench/run.sh {{SECONDS}}
