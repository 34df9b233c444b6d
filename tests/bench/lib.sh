# Shared by the bench scripts (sourced, not run): settings, the throwaway state and its cleanup,
# starting and stopping a gateway (and a second replica of it), CPU time of a process, and
# recording a measurement. Every measurement goes to $results through the load generator,
# which also prints the summary.
# Postgres and Redis come from tests/services.sh; they are never flushed or stopped: each run
# uses its own databases (dropped at the end) and its own Redis key prefix (deleted).

ROUND_SECS=${ROUND_SECS:-5}
ROUNDS=${ROUNDS:-3}
loadgen=./target/release/portcullis-bench
mkdir -p target/bench
results=target/bench/results.jsonl
: > "$results"

command -v wrk >/dev/null || { echo "wrk is required: apt-get install -y wrk" >&2; exit 1; }
eval "$(tests/services.sh)"
build_log=$(mktemp)
cargo build --release -p portcullis -p portcullis-bench --bin portcullis --bin portcullis-bench >"$build_log" 2>&1 ||
    { cat "$build_log" >&2; exit 1; }
rm -f "$build_log"

work=$(mktemp -d)
server=
replica=
upstream=
databases=()
redis_prefix="portcullis-bench:$$:"
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    [ -n "$replica" ] && kill "$replica" 2>/dev/null && wait "$replica" 2>/dev/null
    [ -n "$upstream" ] && kill "$upstream" 2>/dev/null && wait "$upstream" 2>/dev/null
    for database in "${databases[@]}"; do
        psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1
    done
    redis-cli -u "$REDIS_URL" --scan --pattern "$redis_prefix*" | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# new_database SUFFIX: creates a throwaway Postgres database (dropped on exit) and sets
# $database_url to it. Not in a subshell: the list of databases to drop would be lost.
new_database() {
    local name=portcullis_bench_$$_$1
    psql "$DATABASE_URL" -qc "CREATE DATABASE $name" >/dev/null
    databases+=("$name")
    database_url="${DATABASE_URL%/*}/$name"
}

# cpu_us PID: the CPU time (user + system) the process has used so far, in microseconds.
clock_ticks=$(getconf CLK_TCK)
cpu_us() {
    awk -v hz="$clock_ticks" '{ sub(/^.*\) /, ""); printf "%.0f\n", ($12 + $13) * 1000000 / hz }' "/proc/$1/stat"
}

# launch_gateway PID_VAR NAME PORT [VAR=VALUE...]: runs `portcullis serve` in the background
# on PORT with its data directory $work/NAME (serve arguments in $SERVE_ARGS), sets PID_VAR to
# its process id at once (so cleanup stops it whatever happens next), and returns when it
# answers /healthz.
launch_gateway() {
    local pid_var=$1 name=$2 port=$3
    shift 3
    env PORTCULLIS_LISTEN=127.0.0.1:$port PORTCULLIS_DATA_DIR="$work/$name" RUST_LOG=warn "$@" \
        ./target/release/portcullis serve ${SERVE_ARGS:-} &
    printf -v "$pid_var" %s $!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return; sleep 0.1; done
    echo "the gateway on port $port does not answer /healthz" >&2
    exit 1
}

# start_gateway NAME [VAR=VALUE...]: starts a gateway (serve arguments in $SERVE_ARGS), sets
# $server, $base and $token (an access token of the account bench@example.com).
start_gateway() {
    local name=$1 port
    shift
    port=$(free_port)
    base=http://127.0.0.1:$port
    launch_gateway server "$name" "$port" "$@"
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

# start_replica NAME [VAR=VALUE...]: a second gateway on the storage of the one start_gateway
# NAME started (the same data directory and settings), on its own port; sets $replica and
# $replica_base.
start_replica() {
    local name=$1 port
    shift
    port=$(free_port)
    replica_base=http://127.0.0.1:$port
    launch_gateway replica "$name" "$port" "$@"
}

stop_replica() {
    kill "$replica"
    wait "$replica" 2>/dev/null || true
    replica=
}

# wrk_round TIER NAME [--pid PID] WRK ARGS...: one wrk round, recorded as TIER/NAME with the CPU
# time of PID (the gateway) around it; fails on any non-2xx answer.
wrk_round() {
    local tier=$1 name=$2 pid= before after requests seconds p50 p99
    shift 2
    if [ "$1" = --pid ]; then pid=$2; shift 2; fi
    [ -n "$pid" ] && before=$(cpu_us "$pid")
    read -r requests seconds p50 p99 < <(
        wrk -t2 -c64 -d"${ROUND_SECS}s" --latency "$@" | awk '
            function ms(v) {
                if (v ~ /us$/) { sub(/us/, "", v); return v / 1000 }
                if (v ~ /ms$/) { sub(/ms/, "", v); return v }
                if (v ~ /s$/) { sub(/s/, "", v); return v * 1000 }
                if (v ~ /m$/) { sub(/m/, "", v); return v * 60000 }
                return v
            }
            / requests in / { requests = $1; seconds = $4; sub(/s,?$/, "", seconds) }
            /^ +50%/ { p50 = ms($2) }
            /^ +99%/ { p99 = ms($2) }
            /Non-2xx/ { bad = $NF }
            END { if (bad > 0) { print "non-2xx responses: " bad > "/dev/stderr"; exit 1 }; print requests, seconds, p50, p99 }')
    [ -n "$pid" ] && after=$(cpu_us "$pid")
    "$loadgen" record --tier "$tier" --name "$name" --results "$results" --seconds "$seconds" \
        --requests "$requests" --p50-ms "$p50" --p99-ms "$p99" ${pid:+--cpu-us $((after - before))} |
        say_round
}

# Prints one recorded measurement as a line of the round-by-round log.
say_round() {
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if "revocations" in m:
        seen = m["revocations"]
        print("  %-10s %-26s %4d revocations | p50 %8.3f ms | p99 %8.3f ms | max %8.3f ms | %d stale 200s" % (
            m["tier"], m["name"], len(seen), m["p50_ms"], m["p99_ms"],
            max(o["lag_us"] for o in seen) / 1000, sum(o["stale_200s"] for o in seen)))
        continue
    cpu = "" if m.get("cpu_us") is None else " | %6.0f us CPU/req" % (m["cpu_us"] / max(m["requests"], 1))
    print("  %-10s %-26s %8.0f req/s | p50 %7.2f ms | p99 %7.2f ms%s" % (
        m["tier"], m["name"], m["requests"] / m["seconds"], m["p50_ms"], m["p99_ms"], cpu))'
}
