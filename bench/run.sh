#!/usr/bin/env bash
# The benchmark suite: builds in release mode, starts a throwaway Redis and the benchmark
# server, runs every scenario on the memory store and on Redis, on axum and on actix-web,
# with the load generator on another core, then the same scenarios on the floor
# (bench/floor: the same routes in bare axum over the fewest Redis calls, on redis-rs with
# several settings and on fred) and on
# the peer (bench/peer-actix: actix-web-flash-messages on actix-session's Redis store), with
# the server's and Redis's CPU and Redis's commands per request; measures Redis's round
# trips per cycle and memory per message, and writes BENCHMARKS.md with its chart
# (bench/benchmarks.svg).
#
#   bash bench/run.sh [--duration SECONDS] [--users N] [--soak SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
args="$*"
duration=10
users=32
soak=0
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) duration="$2"; shift 2 ;;
        --users) users="$2"; shift 2 ;;
        --soak) soak="$2"; shift 2 ;;
        *) echo "usage: bash bench/run.sh [--duration S] [--users N] [--soak S]" >&2; exit 2 ;;
    esac
done

. scripts/lib.sh
ensure_redis
ensure_valkey
ensure_redis62
cargo build --release -p bench --bins
bin="${CARGO_TARGET_DIR:-target}/release"
# The peer is its own cargo project (its own Cargo.lock), outside the workspace: CI never
# builds actix.
peer_target="${CARGO_TARGET_DIR:-target}/peer"
cargo build --release --locked --manifest-path bench/peer-actix/Cargo.toml --target-dir "$peer_target"
peer_bin="$peer_target/release/peer-actix"
# The floor on fred (bench/floor-fred): also its own project, so that CI never builds fred.
fred_target="${CARGO_TARGET_DIR:-target}/floor-fred"
cargo build --release --locked --manifest-path bench/floor-fred/Cargo.toml --target-dir "$fred_target"
fred_bin="$fred_target/release/floor-fred"

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# The server (and Redis) on one core, the load generator on the other, as the peers were
# measured. With a single core everything shares it, and flash-load says so.
if [ "$(nproc)" -ge 2 ]; then
    server_cpu="taskset -c 0"
    load_cpu="taskset -c 1"
    pinning="server and Redis pinned to CPU 0, load generator to CPU 1"
else
    server_cpu=""
    load_cpu=""
    pinning="one core: server, Redis and load generator share it"
fi

sock="$work/redis.sock"
$server_cpu redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --save '' \
    --appendonly no --dir "$work" --loglevel warning &
redis_pid=$!
pids+=("$redis_pid")
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
rcli() { redis-cli -s "$sock" "$@"; }
stat() { rcli INFO "$1" | tr -d '\r' | awk -F: -v k="$2" '$1 == k { print $2 }'; }

results="$work/results.jsonl"
printf '{"kind":"machine","cores":%s,"date":"%s","commit":"%s","args":"%s","pinning":"%s"}\n' \
    "$(nproc)" "$(date -u +%Y-%m-%dT%H:%MZ)" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    "${args:+ $args}" "$pinning" > "$results"

port=18080
start_server() { # env assignments… (SERVER_BIN=path picks another server than bench-server)
    port=$((port + 1))
    local server="$bin/bench-server"
    for assignment in "$@"; do
        case "$assignment" in SERVER_BIN=*) server="${assignment#SERVER_BIN=}" ;; esac
    done
    env "$@" $server_cpu "$server" --addr "127.0.0.1:$port" &
    server_pid=$!
    pids+=("$server_pid")
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return
        sleep 0.05
    done
    echo "bench-server did not start" >&2
    exit 1
}
load() { # scenario label [extra flash-load args]
    $load_cpu "$bin/flash-load" --addr "127.0.0.1:$port" --scenario "$1" --label "$2" \
        --users "$users" --duration "$duration" --warmup 2 --json --server-pid "$server_pid" \
        --cpu-pids "$server_pid,$redis_pid" --redis-pid "$redis_pid" --redis "redis+unix://$sock" "${@:3}"
}
stop_server() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; }

# tower-flash on each store, on axum (labels `memory`, `redis`) and on actix-web
# (`actix-memory`, `actix-redis`), then the floor and the peer on the same Redis: every
# ratio the report gives compares figures of this one run; each label's ratios are over its
# own `bare`. The floor runs on tower-flash's redis-rs connection (`floor`), then, for
# `bare` and `cycle` only, on the other clients and settings issue 15 asks about:
# redis-rs's plain multiplexed connection without a response timeout (`floor-multiplexed`),
# the manager with a pipeline buffer of 1,024 (`floor-buffer`) and fred (`floor-fred`).
for label in memory redis actix-memory actix-redis floor floor-multiplexed floor-buffer floor-fred actix-peer; do
    case "$label" in
        memory) start_server FLASH_STORE=memory ;;
        redis) start_server FLASH_STORE=redis REDIS_URL="redis+unix://$sock" ;;
        actix-memory) start_server FLASH_FRAMEWORK=actix FLASH_STORE=memory ;;
        actix-redis) start_server FLASH_FRAMEWORK=actix FLASH_STORE=redis REDIS_URL="redis+unix://$sock" ;;
        floor) start_server SERVER_BIN="$bin/floor-server" REDIS_URL="redis+unix://$sock" ;;
        floor-multiplexed) start_server SERVER_BIN="$bin/floor-server" FLOOR_CONNECTION=multiplexed REDIS_URL="redis+unix://$sock" ;;
        floor-buffer) start_server SERVER_BIN="$bin/floor-server" FLOOR_CONNECTION=manager-buffer REDIS_URL="redis+unix://$sock" ;;
        floor-fred) start_server SERVER_BIN="$fred_bin" REDIS_URL="redis+unix://$sock" ;;
        actix-peer) start_server SERVER_BIN="$peer_bin" REDIS_URL="redis+unix://$sock" ;;
    esac
    scenarios="bare health cycle read-empty race"
    case "$label" in floor-*) scenarios="bare cycle" ;; esac
    for scenario in $scenarios; do
        load "$scenario" "$label" | tee -a "$results"
    done
    stop_server
done

# Redis's own counters: round trips (socket reads) and commands per cycle, first with one
# user (each request alone: its round trips), then with all of them (the multiplexed
# connection batches concurrent requests into fewer socket reads).
start_server FLASH_STORE=redis REDIS_URL="redis+unix://$sock"
cost() { # users
    local r0 c0 r1 c1 requests
    r0=$(stat stats total_reads_processed); c0=$(stat stats total_commands_processed)
    requests=$(load cycle redis --users "$1" --warmup 0 --duration 3 | sed -n 's/.*"requests":\([0-9]*\).*/\1/p')
    r1=$(stat stats total_reads_processed); c1=$(stat stats total_commands_processed)
    echo "$1 $requests $r0 $r1 $c0 $c1"
}
python3 - $(cost 1) $(cost "$users") >> "$results" <<'PY'
import json, sys
a = list(map(int, sys.argv[1:]))
out = {"kind": "redis-cost"}
for name, (users, requests, r0, r1, c0, c1) in (("alone", a[:6]), ("loaded", a[6:])):
    cycles = max(requests // 2, 1)
    # Less the INFO calls made between the two readings (one read, one command each).
    out[name] = {"users": users, "cycles": cycles,
                 "round_trips_per_cycle": (r1 - r0 - 2) / cycles,
                 "commands_per_cycle": (c1 - c0 - 2) / cycles}
print(json.dumps(out))
PY

# Memory per pending message: many clients with one unread message each, then with ten.
memory() { # messages per client
    rcli FLUSHALL >/dev/null
    local m0 m1 clients key
    m0=$(stat memory used_memory)
    load fill redis --users 2000 --rounds "$1" --warmup 0 --duration 30 >/dev/null
    m1=$(stat memory used_memory)
    clients=$(rcli DBSIZE)
    key=$(rcli RANDOMKEY)
    echo "$1 $clients $m0 $m1 $(rcli LINDEX "$key" 0 | wc -c) $(rcli MEMORY USAGE "$key")"
}
python3 - $(memory 1) $(memory 10) >> "$results" <<'PY'
import json, sys
a = list(map(int, sys.argv[1:]))
runs = [dict(zip(("per_client", "clients", "m0", "m1", "element", "usage"), a[i:i + 6])) for i in (0, 6)]
one, ten = runs
messages = lambda r: max(r["clients"] * r["per_client"], 1)
print(json.dumps({"kind": "memory", "clients": one["clients"], "element_bytes": one["element"] - 1,
                  "bytes_per_message": (one["m1"] - one["m0"]) / messages(one),
                  "memory_usage_one_key": one["usage"],
                  "bytes_per_message_ten_per_client": (ten["m1"] - ten["m0"]) / messages(ten),
                  "memory_usage_key_of_ten": ten["usage"]}))
PY
stop_server

# The same memory figures on every supported server (Redis 7.0, Valkey 9, Redis 6.2).
BENCH_BUILT=yes bash bench/memory.sh >> "$results"

# Several app instances on a Redis Cluster: 3 masters, 3 server processes, each user's
# requests going to them in turn (a cycle's set and read meet different instances).
cluster_ports=(17101 17102 17103)
for p in "${cluster_ports[@]}"; do
    $server_cpu redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes \
        --cluster-config-file "$work/nodes-$p.conf" --cluster-require-full-coverage no \
        --save '' --appendonly no --dir "$work" --loglevel warning &
    pids+=($!)
done
for p in "${cluster_ports[@]}"; do
    for _ in $(seq 200); do redis-cli -p "$p" PING >/dev/null 2>&1 && break; sleep 0.05; done
done
redis-cli --cluster create $(printf '127.0.0.1:%s ' "${cluster_ports[@]}") --cluster-yes >/dev/null
for _ in $(seq 200); do
    redis-cli -p "${cluster_ports[0]}" CLUSTER INFO | grep -q 'cluster_state:ok' && break
    sleep 0.05
done
seeds=$(printf 'redis://127.0.0.1:%s,' "${cluster_ports[@]}"); seeds=${seeds%,}
instances=()
for _ in 1 2 3; do
    start_server FLASH_STORE=redis-cluster REDIS_URLS="$seeds"
    instances+=("127.0.0.1:$port")
done
all=$(IFS=,; echo "${instances[*]}")
for scenario in cycle race; do
    $load_cpu "$bin/flash-load" --addr "$all" --scenario "$scenario" --label "cluster, 3 instances" \
        --users "$users" --duration "$duration" --warmup 2 --json | tee -a "$results"
done

if [ "$soak" -gt 0 ]; then
    rcli FLUSHALL >/dev/null
    start_server FLASH_STORE=redis REDIS_URL="redis+unix://$sock"
    rss_file="$work/rss"
    : > "$rss_file"
    ( while kill -0 "$server_pid" 2>/dev/null; do
          awk '/VmRSS/ { print $2 }' "/proc/$server_pid/status" >> "$rss_file" 2>/dev/null || true
          sleep 10
      done ) &
    sampler=$!
    outcome=$(load cycle redis --warmup 0 --duration "$soak")
    kill "$sampler" 2>/dev/null || true
    without_ttl=0
    for k in $(rcli --scan); do
        [ "$(rcli PTTL "$k")" -lt 0 ] && without_ttl=$((without_ttl + 1))
    done
    python3 - "$rss_file" "$without_ttl" "$soak" "$outcome" >> "$results" <<'PY'
import json, sys
rss = [int(x) for x in open(sys.argv[1]).read().split()]
outcome = json.loads(sys.argv[4])
# Warm-up: the first minute (or the first sample on a short soak).
warm = rss[min(len(rss) - 1, 6)] if rss else 0
growth = (max(rss[6:] or rss) - warm) / warm if warm else 0.0
import subprocess, datetime
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
print(json.dumps({"kind": "soak", "seconds": int(sys.argv[3]), "rss_kib": rss,
                  "commit": commit, "date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%MZ"),
                  "rss_growth_after_warmup": growth, "keys_without_ttl": int(sys.argv[2]),
                  "lost": outcome["lost"], "duplicated": outcome["duplicated"],
                  "foreign": outcome["foreign"], "rps": outcome["rps"]}))
PY
    stop_server
elif [ -f bench/results.jsonl ] && grep -q '"kind": *"soak"' bench/results.jsonl; then
    # A soak takes ten minutes: keep the last one (it carries its own commit and date).
    grep '"kind": *"soak"' bench/results.jsonl >> "$results"
fi

cp "$results" bench/results.jsonl
"$bin/bench-report" "$results" bench/benchmarks.svg bench/NOTES.md > BENCHMARKS.md
echo "wrote BENCHMARKS.md, bench/benchmarks.svg and bench/results.jsonl"
