# Refresh (sourced by run.sh; issue 14 §2): chained refreshes against the running gateway,
# interleaved with the same rotation transaction issued directly with sqlx on the same kind of
# database (a SQLite file beside the gateway's, or a throwaway Postgres database), at the same
# concurrency. Any refresh answer other than 200, or a cookie a client already held, fails it.

REFRESH_CLIENTS=${REFRESH_CLIENTS:-32}

# bench_refresh TIER BASELINE_DATABASE: rounds against the running gateway ($base, $server).
bench_refresh() {
    local tier=$1 database=$2 round
    echo "refresh ($tier): $ROUNDS interleaved rounds of ${ROUND_SECS}s, $REFRESH_CLIENTS chained clients"
    for round in $(seq "$ROUNDS"); do
        "$loadgen" rotation --database "$database" --clients "$REFRESH_CLIENTS" \
            --seconds "$ROUND_SECS" --tier "$tier" --name rotation-sqlx --results "$results" | say_round
        "$loadgen" refresh --base "$base" --server-pid "$server" --clients "$REFRESH_CLIENTS" \
            --seconds "$ROUND_SECS" --tier "$tier" --name refresh --results "$results" | say_round
    done
}
