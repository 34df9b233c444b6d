# Logins (sourced by run.sh; issue 14 §3): logins per second against argon2id verifications
# with the gateway's parameters on every core, interleaved; then /auth/verify latency on an
# idle gateway against the same probe during a login flood of four clients per core.

# bench_login TIER: rounds against the running gateway ($base, $server).
bench_login() {
    local tier=$1 round
    echo "login ($tier): $ROUNDS interleaved rounds of ${ROUND_SECS}s, four clients per core"
    for round in $(seq "$ROUNDS"); do
        "$loadgen" argon2 --seconds "$ROUND_SECS" --tier "$tier" --name argon2id \
            --results "$results" | say_round
        "$loadgen" login --base "$base" --server-pid "$server" --seconds "$ROUND_SECS" \
            --tier "$tier" --name login --results "$results" | say_round
    done
    echo "verify under a login flood ($tier): $ROUNDS rounds of ${ROUND_SECS}s idle, then flooded"
    for round in $(seq "$ROUNDS"); do
        "$loadgen" flood --base "$base" --seconds "$ROUND_SECS" --tier "$tier" --name verify \
            --results "$results" | say_round
    done
}
