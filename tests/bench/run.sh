#!/usr/bin/env bash
# `just bench`: every figure of issue 14 against a baseline measured in the same run, on both
# tiers (embedded = SQLite, production = Postgres + Redis), then one summary table, also
# written to target/bench/summary.json. Ratios only, except revocation lag: how late a second
# replica refuses a revoked token has no baseline, and its target is in milliseconds.
# Usage: run.sh [seconds-per-round]; ROUNDS (default 3), REFRESH_CLIENTS (default 32) and
# LAG_REVOCATIONS (default 300) from the environment. Postgres and Redis come from
# tests/services.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUND_SECS=${1:-${ROUND_SECS:-5}}

source tests/bench/lib.sh
source tests/bench/verify.sh
source tests/bench/refresh.sh
source tests/bench/login.sh
source tests/bench/lag.sh

# bench_tier TIER BASELINE_DATABASE [VAR=VALUE...]: one gateway, every measurement against it;
# last, a second replica beside it for the revocation lag.
bench_tier() {
    local tier=$1 database=$2
    shift 2
    start_gateway "$tier" "$@"
    bench_verify "$tier"
    bench_refresh "$tier" "$database"
    bench_login "$tier"
    bench_lag "$tier" "$@"
    stop_gateway
    echo
}

started=$(date +%s)
bench_tier embedded "$work/rotation-baseline.sqlite"
new_database gateway
gateway_database=$database_url
new_database rotation
bench_tier production "$database_url" \
    PORTCULLIS_DATABASE_URL="$gateway_database" \
    PORTCULLIS_REDIS_URL="$REDIS_URL" \
    PORTCULLIS_REDIS_PREFIX="$redis_prefix" \
    PORTCULLIS_KEY_ENCRYPTION_KEY="$(head -c 32 /dev/urandom | base64)"
bench_proxy
echo
echo "summary ($(nproc) cores, ${ROUND_SECS}s rounds, $(( $(date +%s) - started ))s of measuring):"
"$loadgen" summary --results "$results" --json target/bench/summary.json
echo "written to target/bench/summary.json"
