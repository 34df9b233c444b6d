# The verify path (sourced by run.sh): /auth/verify (signature cache, exp and the three
# revocation checks) against /healthz (a trivial handler of the same server), interleaved with
# wrk. And the built-in proxy: a request checked and proxied to an upstream (nginx answering
# from memory) against the gateway's own /auth/verify, with the upstream reached directly as
# context.

# bench_verify TIER: rounds against the running gateway ($base, $token, $server).
bench_verify() {
    local tier=$1 round
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/auth/verify" -H "Authorization: Bearer $token")" = 200 ] ||
        { echo "verify does not answer 200" >&2; exit 1; }
    echo "verify ($tier): $ROUNDS interleaved rounds of ${ROUND_SECS}s, 64 connections, 2 wrk threads"
    for round in $(seq "$ROUNDS"); do
        wrk_round "$tier" healthz --pid "$server" "$base/healthz"
        wrk_round "$tier" verify --pid "$server" -H "Authorization: Bearer $token" "$base/auth/verify"
    done
}

# bench_proxy: the built-in proxy on the embedded tier, in front of an nginx answering from memory.
bench_proxy() {
    local nginx upstream_port round
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

    # The proxied path is a verify plus an upstream round trip on the same cores, so it is
    # compared with the gateway's own verify; the upstream's direct rate is context.
    echo "built-in proxy: $ROUNDS interleaved rounds of ${ROUND_SECS}s, 64 connections"
    for round in $(seq "$ROUNDS"); do
        wrk_round embedded proxy-verify --pid "$server" -H "Authorization: Bearer $token" "$base/auth/verify"
        wrk_round embedded proxied --pid "$server" -H "Authorization: Bearer $token" "$base/app/x"
        wrk_round embedded upstream-direct "http://127.0.0.1:$upstream_port/app/x"
    done
    stop_gateway
    kill "$upstream"
    wait "$upstream" 2>/dev/null || true
    upstream=
}
