# Portcullis task runner. `just --list` shows every recipe.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Data under ./data; the demo app at http://127.0.0.1:8080/demo/ (PORTCULLIS_DEMO=false leaves
# it out).
# Serve the gateway on the embedded tier at http://127.0.0.1:8080.
run *ARGS:
    PORTCULLIS_DEMO="${PORTCULLIS_DEMO:-true}" cargo run --release -p portcullis -- serve {{ARGS}}

# DATABASE_URL / REDIS_URL (default: the local servers) and REDIS_CLUSTER_URL, else throwaway
# instances; their URLs go to target/test-services/env.
# Make sure a Postgres, a Redis and a Redis Cluster answer for the tests.
services:
    tests/services.sh > /dev/null

# Unit and store tests, the behavioural suite over real HTTP (embedded, then Postgres + Redis;
# Schemathesis against the OpenAPI document included), the production tier's replica and fault
# scenarios, the Redis store, behavioural suite and scenarios again on a Redis Cluster, the browser client library's own tests, the demo app in headless Chromium, and
# what deploy/ ships (deploy-test).
# Run every test on both tiers.
test: services client-test discovery-deps schemathesis-deps
    #!/usr/bin/env bash
    set -euo pipefail
    source target/test-services/env
    cargo build -p portcullis --bin portcullis
    cargo test --workspace --no-fail-fast
    TEST_TIER=production cargo test --workspace --test api --no-fail-fast
    # The production tier again, on a Redis Cluster.
    REDIS_URL=$REDIS_CLUSTER_URL cargo test -p portcullis-store-redis --no-fail-fast
    REDIS_URL=$REDIS_CLUSTER_URL TEST_TIER=production cargo test -p portcullis-tests --test api --no-fail-fast
    REDIS_URL=$REDIS_CLUSTER_URL cargo test -p portcullis-tests --test production --no-fail-fast
    just e2e
    just deploy-test

# hadolint, kubernetes-validate (strict, pinned Kubernetes), systemd-analyze verify and security,
# `config check` on the example configs; then the image's runtime stage built with Podman from
# this run's binary, on a debootstrap base, and run: /healthz, register, login, verify, SIGTERM,
# restart on its volume. Installs what it needs (tests/deploy/setup.sh).
# Check the Dockerfile, Kubernetes manifests and systemd unit; build and run the image.
deploy-test:
    tests/deploy/setup.sh
    cargo build -p portcullis --bin portcullis
    tests/deploy/check.sh
    tests/deploy/container.sh

# Install the Node resource server the discovery test runs (openid-client + jose).
discovery-deps:
    cd tests/discovery && npm ci --no-audit --no-fund

# Pinned, in a virtualenv under target/schemathesis; tests/api/schemathesis.rs runs it.
# Install Schemathesis for the OpenAPI check.
schemathesis-deps:
    tests/schemathesis/setup.sh

# Installs Debian's chromium when missing; the screenshot of the logged-in demo lands in
# tests/e2e/output/.
# Test the demo app end to end in real headless Chromium.
e2e:
    tests/e2e/setup.sh
    cd tests/e2e && npm test

# Types, unit tests, and that the committed bundle the server embeds is what its sources build.
# Test the browser client library (clients/js).
client-test:
    cd clients/js && npm ci --no-audit --no-fund && npm run typecheck && npm test && npm run check-dist

# Written from the config types and the README's Configuration table by `portcullis config
# example`; a unit test fails while the committed file differs.
# Rewrite portcullis.example.toml.
config-example:
    cargo run -q -p portcullis --bin portcullis -- config example > target/portcullis.example.toml
    mv target/portcullis.example.toml portcullis.example.toml

# Format the code.
fmt:
    cargo fmt --all

# Formatting and clippy, warnings denied.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Each figure against a baseline measured in the same run: verify against /healthz, chained
# refreshes against the rotation transaction through sqlx, logins against argon2id on every
# core, verify p99 during a login flood against idle, the built-in proxy against verify; and
# revocation lag, sessions ended on one replica and watched on a second (in milliseconds, no
# baseline). Ends with one table, also in target/bench/summary.json (needs wrk).
# Benchmark both tiers against same-run baselines.
bench SECONDS="5":
    command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk)
    tests/bench/run.sh {{SECONDS}}
