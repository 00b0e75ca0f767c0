#!/usr/bin/env bash
# The whole test suite: unit, integration, black-box and doc tests of every package.
# Installs what is missing (redis-server, redis-cli, cargo-nextest) first; the Redis tests
# start their own throwaway servers, clusters and sentinels (redis-server --sentinel), and
# fail loudly without them.
# Usage: bash scripts/test.sh [nextest args]
set -euo pipefail
cd "$(dirname "$0")/.."

# redis-server (with TLS: Debian builds it in) for every Redis test; redis-cli (redis-tools)
# to create the test clusters.
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    echo "redis-server or redis-cli is missing: installing them with apt-get"
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server redis-tools >/dev/null
    # Debian's package starts a system-wide server; the tests start their own.
    $sudo systemctl disable --now redis-server >/dev/null 2>&1 || true
fi

if ! cargo nextest --version >/dev/null 2>&1; then
    echo "cargo-nextest is missing: installing it (cargo install cargo-nextest --locked)"
    cargo install cargo-nextest --locked
fi

cargo nextest run --workspace --all-features --no-fail-fast "$@"
cargo test --workspace --all-features --doc
