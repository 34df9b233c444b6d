#!/usr/bin/env bash
# `just bench`: every figure of issue 14 against a baseline measured in the same run, on both
# tiers (embedded = SQLite, production = Postgres + Redis), then one summary table, also
# written to target/bench/summary.json. Ratios only: no absolute number is a target.
# Usage: run.sh [seconds-per-round]; ROUNDS (default 3) and REFRESH_CLIENTS (default 32) from
# the environment. Postgres and Redis come from tests/services.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUND_SECS=${1:-${ROUND_SECS:-5}}

source tests/bench/lib.sh
source tests/bench/verify.sh
source tests/bench/refresh.sh
source tests/bench/login.sh

# bench_tier TIER BASELINE_DATABASE [VAR=VALUE...]: one gateway, every measurement against it.
bench_tier() {
    local tier=$1 database=$2
    shift 2
    start_gateway "$tier" "$@"
    bench_verify "$tier"
    bench_refresh "$tier" "$database"
    bench_login "$tier"
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
