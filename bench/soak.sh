#!/usr/bin/env bash
# The soak: mixed load (redirect cycles, racing reads of one client, htmx, confirmed delivery
# with failing views, cookieless visitors that never come back) on the memory store and on a
# throwaway redis-server at once, for N minutes (default 30), with the process's RSS, the
# memory store's bytes and clients, Redis's used_memory, key count and keys without a TTL
# sampled every 5 s. Writes bench/soak.jsonl (the samples, then a summary line) and
# bench/soak.svg (the plot); exits non-zero if anything grew 5 % or more after warm-up, a
# key had no TTL, a key outlived the load by a TTL, or a correctness counter is not 0.
#
#   bash bench/soak.sh [--minutes N] [other flash-soak arguments]
#
# The CI version (15 s, same driver and checks) is bench/tests/soak.rs, run by
# scripts/test.sh. Under nice: the machine is usually shared.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=30
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) minutes="$2"; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done

. scripts/lib.sh
ensure_redis
cargo build --release -p bench --bin flash-soak
bin="${CARGO_TARGET_DIR:-target}/release"
exec nice -n 10 "$bin/flash-soak" --minutes "$minutes" --jsonl bench/soak.jsonl \
    --svg bench/soak.svg "${args[@]}"
