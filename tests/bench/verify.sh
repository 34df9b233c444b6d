#!/usr/bin/env bash
# Benchmark of the verify path on both tiers: /auth/verify (signature cache, exp and the three
# revocation checks) against /healthz (a trivial handler of the same server), interleaved in one
# run with wrk, so the ratio is measured on this machine, now. Then the built-in proxy: a
# request checked and proxied to an upstream (nginx answering from memory) against the
# gateway's own /auth/verify, with the upstream reached directly as context.
# Usage: verify.sh [seconds-per-round]. Postgres and Redis come from tests/services.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUND_SECS=${1:-5}
ROUNDS=3
CONNECTIONS=64
THREADS=2

command -v wrk >/dev/null || { echo "wrk is required: apt-get install -y wrk" >&2; exit 1; }
eval "$(tests/services.sh)"
cargo build --release -p portcullis --bin portcullis >/dev/null 2>&1

work=$(mktemp -d)
server=
database=
upstream=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    [ -n "$upstream" ] && kill "$upstream" 2>/dev/null && wait "$upstream" 2>/dev/null
    [ -n "$database" ] && psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1
    redis-cli -u "$REDIS_URL" --scan --pattern "portcullis-bench:*" | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Prints "<requests/s> <p99 in ms>" for one wrk run; fails on any non-2xx answer.
measure() {
    wrk -t$THREADS -c$CONNECTIONS -d"${ROUND_SECS}s" --latency "$@" | awk '
        /Requests\/sec/ { rps = $2 }
        /^ +99%/ { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v = v / 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v) } else if (v ~ /s$/) { sub(/s/, "", v); v = v * 1000 }; p99 = v }
        /Non-2xx/ { bad = $NF }
        END { if (bad > 0) { print "non-2xx responses: " bad > "/dev/stderr"; exit 1 }; printf "%.0f %.3f\n", rps, p99 }'
}

# start_gateway NAME [VAR=VALUE...] [-- SERVE ARGS]: starts a gateway, sets $base and $token.
start_gateway() {
    local name=$1 port
    shift
    port=$(free_port)
    base=http://127.0.0.1:$port
    env PORTCULLIS_LISTEN=127.0.0.1:$port PORTCULLIS_DATA_DIR="$work/$name" RUST_LOG=warn "$@" \
        ./target/release/portcullis serve ${SERVE_ARGS:-} &
    server=$!
    for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
    curl -sf "$base/auth/register" -H 'content-type: application/json' \
        -d '{"email":"bench@example.com","password":"benchmark password"}' >/dev/null
    token=$(curl -sf "$base/auth/login" -H 'content-type: application/json' \
        -d '{"email":"bench@example.com","password":"benchmark password"}' |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
}

stop_gateway() {
    kill "$server"
    wait "$server" 2>/dev/null || true
    server=
}

# bench_tier NAME TARGET [VAR=VALUE...]: starts a gateway with the settings, measures, stops it.
bench_tier() {
    local name=$1 target=$2
    shift 2
    start_gateway "$name" "$@"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/auth/verify" -H "Authorization: Bearer $token")" = 200 ] ||
        { echo "verify does not answer 200" >&2; exit 1; }

    echo "tier: $name; $ROUNDS interleaved rounds of ${ROUND_SECS}s, $CONNECTIONS connections, $THREADS wrk threads"
    local total_base=0 total_verify=0 round base_rps base_p99 verify_rps verify_p99
    for round in $(seq $ROUNDS); do
        read -r base_rps base_p99 < <(measure "$base/healthz")
        read -r verify_rps verify_p99 < <(measure -H "Authorization: Bearer $token" "$base/auth/verify")
        printf '  round %d: /healthz %7d req/s p99 %6.2f ms | /auth/verify %7d req/s p99 %6.2f ms | ratio %.2f\n' \
            "$round" "$base_rps" "$base_p99" "$verify_rps" "$verify_p99" \
            "$(python3 -c "print($verify_rps/$base_rps)")"
        total_base=$((total_base + base_rps))
        total_verify=$((total_verify + verify_rps))
    done
    printf '%s tier: verify/healthz throughput ratio %.2f (target >= %s)\n\n' "$name" \
        "$(python3 -c "print($total_verify/$total_base)")" "$target"
    stop_gateway
}

# The built-in proxy on the embedded tier, in front of an nginx answering from memory.
bench_proxy() {
    local target=$1 nginx upstream_port round direct_rps direct_p99 proxied_rps proxied_p99
    nginx=$(command -v nginx || echo /usr/sbin/nginx)
    upstream_port=$(free_port)
    mkdir -p "$work/nginx"
    cat > "$work/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
$( [ "$(id -u)" = 0 ] && echo "user root;" )
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    server { listen 127.0.0.1:$upstream_port; location / { return 200 "ok"; } }
}
CONF
    "$nginx" -e "$work/nginx/error.log" -p "$work/nginx" -c "$work/nginx/nginx.conf" &
    upstream=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$upstream_port/" >/dev/null && break; sleep 0.1; done
    printf '[[upstreams]]\nprefix = "/app"\nurl = "http://127.0.0.1:%s"\n' "$upstream_port" > "$work/proxy.toml"
    SERVE_ARGS="--config $work/proxy.toml" start_gateway proxy
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/app/x" -H "Authorization: Bearer $token")" = 200 ] ||
        { echo "the proxied upstream does not answer 200" >&2; exit 1; }

    echo "built-in proxy: $ROUNDS interleaved rounds of ${ROUND_SECS}s, $CONNECTIONS connections"
    local total_verify=0 total_proxied=0 total_direct=0 verify_rps verify_p99
    for round in $(seq $ROUNDS); do
        read -r verify_rps verify_p99 < <(measure -H "Authorization: Bearer $token" "$base/auth/verify")
        read -r proxied_rps proxied_p99 < <(measure -H "Authorization: Bearer $token" "$base/app/x")
        read -r direct_rps direct_p99 < <(measure "http://127.0.0.1:$upstream_port/app/x")
        printf '  round %d: /auth/verify %7d req/s | proxied %7d req/s p99 %6.2f ms | upstream direct %7d req/s | proxied/verify %.2f\n' \
            "$round" "$verify_rps" "$proxied_rps" "$proxied_p99" "$direct_rps" \
            "$(python3 -c "print($proxied_rps/$verify_rps)")"
        total_verify=$((total_verify + verify_rps))
        total_proxied=$((total_proxied + proxied_rps))
        total_direct=$((total_direct + direct_rps))
    done
    # The proxied path is a verify plus an upstream round trip on the same cores, so it is
    # compared with the gateway's own verify; the upstream's direct rate is context.
    printf 'built-in proxy: proxied/verify throughput ratio %.2f (target >= %s); proxied/direct %.2f\n\n' \
        "$(python3 -c "print($total_proxied/$total_verify)")" "$target" \
        "$(python3 -c "print($total_proxied/$total_direct)")"
    stop_gateway
    kill "$upstream"
    wait "$upstream" 2>/dev/null || true
    upstream=
}

bench_tier embedded 0.70

database=portcullis_bench_$$
psql "$DATABASE_URL" -qc "CREATE DATABASE $database" >/dev/null
bench_tier production 0.50 \
    PORTCULLIS_DATABASE_URL="${DATABASE_URL%/*}/$database" \
    PORTCULLIS_REDIS_URL="$REDIS_URL" \
    PORTCULLIS_REDIS_PREFIX="portcullis-bench:$$:" \
    PORTCULLIS_KEY_ENCRYPTION_KEY="$(head -c 32 /dev/urandom | base64)"

bench_proxy 0.40
