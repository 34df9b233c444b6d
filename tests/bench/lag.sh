# Revocation lag (sourced by run.sh; issue 14 §1): sessions ended on the running gateway
# (replica A: admin user revoke, admin session delete and logout in turn) and watched on a
# second replica (B) on the same storage, polled back to back until it refuses the token. On
# the embedded tier B shares A's SQLite data directory and follows its writes by polling the
# file every 100 ms; on the production tier B shares A's Postgres database and Redis prefix.
# Sessions are opened before the measurement, which runs one revocation at a time.

LAG_REVOCATIONS=${LAG_REVOCATIONS:-300}

# bench_lag TIER [VAR=VALUE...]: the gateway of TIER running ($base), started with these
# settings; B gets the same, and an admin key is made for the run on the command line.
bench_lag() {
    local tier=$1 admin_key
    shift
    start_replica "$tier" "$@"
    admin_key=$(env PORTCULLIS_DATA_DIR="$work/$tier" RUST_LOG=warn "$@" \
        ./target/release/portcullis admin key create --name bench 2>"$work/admin-key.log") ||
        { cat "$work/admin-key.log" >&2; exit 1; }
    echo "revocation lag ($tier): $LAG_REVOCATIONS revocations on one replica, each watched on another"
    BENCH_ADMIN_KEY=$admin_key "$loadgen" lag --revoker "$base" --observer "$replica_base" \
        --revocations "$LAG_REVOCATIONS" --tier "$tier" --name revocation-lag \
        --results "$results" | say_round
    stop_replica
}
