#!/usr/bin/env bash
# What a push costs Redis itself, by the way it is sent (issue 15): 100,000 cycles of a push
# and `LPOP key n` over 1,000 keys, sent with `redis-cli --pipe` to a throwaway Redis, and
# Redis's own CPU (`INFO cpu`) per cycle, for the MULTI pipeline tower-flash used before, the
# script it uses now (tower-flash/src/store/redis/lua/push.lua) and the floor's plain
# pipeline. Round trips are not part of it: --pipe sends everything at once.
#
#   bash bench/push_cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
redis-server --port 0 --unixsocket "$work/redis.sock" --save '' --appendonly no \
    --dir "$work" --loglevel warning --daemonize yes --pidfile "$work/redis.pid"
trap 'kill "$(cat "$work/redis.pid")" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -S "$work/redis.sock" ] && break; sleep 0.05; done
rcli() { redis-cli -s "$work/redis.sock" "$@"; }
sha=$(rcli SCRIPT LOAD "$(cat tower-flash/src/store/redis/lua/push.lua)")
python3 - "$sha" "$work" <<'PY'
import sys
sha, work = sys.argv[1], sys.argv[2]
def cmd(*args):
    out = f"*{len(args)}\r\n"
    for a in map(str, args):
        out += f"${len(a.encode())}\r\n{a}\r\n"
    return out
element = 'info|{"i":"0123456789abcdef","t":"u12-r345-m0","c":1764590000000}'
ways = {
    "multi": lambda k: cmd("MULTI") + cmd("RPUSH", k, element) + cmd("LTRIM", k, -100, -1)
        + cmd("PEXPIRE", k, 86400000) + cmd("EXEC"),
    "script": lambda k: cmd("EVALSHA", sha, 1, k, "R", 100, 86400000, element),
    "pipeline": lambda k: cmd("RPUSH", k, element) + cmd("PEXPIRE", k, 86400000),
}
for name, push in ways.items():
    with open(f"{work}/{name}.txt", "w") as f:
        for i in range(100000):
            key = "flash:{%032x}" % (i % 1000)
            f.write(push(key) + cmd("LPOP", key, 100000))
PY
cpu() { rcli INFO cpu | tr -d '\r' | awk -F: '/^used_cpu_(user|sys):/ { s += $2 } END { printf "%.4f", s }'; }
for way in multi script pipeline; do
    before=$(cpu)
    rcli --pipe < "$work/$way.txt" > /dev/null
    after=$(cpu)
    python3 -c "print(f'$way: {($after - $before) / 100000 * 1e6:.2f} µs of Redis CPU per cycle')"
done
