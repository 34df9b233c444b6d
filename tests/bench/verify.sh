#!/usr/bin/env bash
# Benchmark of the verify path: /auth/verify (signature cache, exp and the three revocation
# checks) against /healthz (a trivial handler of the same server), interleaved in one run with
# wrk, so the ratio is measured on this machine, now. Usage: verify.sh [seconds-per-round]
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUND_SECS=${1:-5}
ROUNDS=3
CONNECTIONS=64
THREADS=2

command -v wrk >/dev/null || { echo "wrk is required: apt-get install -y wrk" >&2; exit 1; }
cargo build --release -p portcullis --bin portcullis >/dev/null

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PORTCULLIS_LISTEN=127.0.0.1:$port PORTCULLIS_DATA_DIR=$work RUST_LOG=warn ./target/release/portcullis serve &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
base=http://127.0.0.1:$port
for _ in $(seq 50); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

curl -sf "$base/auth/register" -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"benchmark password"}' >/dev/null
token=$(curl -sf "$base/auth/login" -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"benchmark password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/auth/verify" -H "Authorization: Bearer $token")" = 200 ] \
    || { echo "verify does not answer 200" >&2; exit 1; }

# Prints "<requests/s> <p99 in ms>" for one wrk run.
measure() {
    wrk -t$THREADS -c$CONNECTIONS -d${ROUND_SECS}s --latency "$@" | awk '
        /Requests\/sec/ { rps = $2 }
        /^ +99%/ { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v = v / 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v) } else if (v ~ /s$/) { sub(/s/, "", v); v = v * 1000 }; p99 = v }
        /Non-2xx/ { bad = $NF }
        END { if (bad > 0) { print "non-2xx responses: " bad > "/dev/stderr"; exit 1 }; printf "%.0f %.3f\n", rps, p99 }'
}

echo "tier: embedded; $ROUNDS interleaved rounds of ${ROUND_SECS}s, $CONNECTIONS connections, $THREADS wrk threads"
total_base=0; total_verify=0
for round in $(seq $ROUNDS); do
    read -r base_rps base_p99 < <(measure "$base/healthz")
    read -r verify_rps verify_p99 < <(measure -H "Authorization: Bearer $token" "$base/auth/verify")
    printf 'round %d: /healthz %8d req/s p99 %7.3f ms | /auth/verify %8d req/s p99 %7.3f ms | ratio %.2f\n' \
        "$round" "$base_rps" "$base_p99" "$verify_rps" "$verify_p99" "$(python3 -c "print($verify_rps/$base_rps)")"
    total_base=$((total_base + base_rps)); total_verify=$((total_verify + verify_rps))
done
printf 'embedded tier: verify/healthz throughput ratio %.2f (target >= 0.70)\n' "$(python3 -c "print($total_verify/$total_base)")"
