# Portcullis task runner. `just --list` shows every recipe.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Serve the gateway on the embedded tier (SQLite under ./data), http://127.0.0.1:8080.
run *ARGS:
    cargo run --release -p portcullis -- serve {{ARGS}}

# Run every test: unit tests and the behavioural suite over real HTTP.
test:
    cargo build -p portcullis --bin portcullis
    cargo test --workspace --no-fail-fast

# Format the code.
fmt:
    cargo fmt --all

# Formatting and clippy, warnings denied.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Benchmark /auth/verify against a trivial handler of the same server (needs wrk).
bench SECONDS="5":
    command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk)
    tests/bench/verify.sh {{SECONDS}}
