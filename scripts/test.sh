#!/usr/bin/env bash
# The whole test suite: unit, integration, black-box and doc tests of every package.
# Installs what is missing (redis-server, cargo-nextest) first; the Redis tests start their
# own throwaway servers and fail loudly without one.
# Usage: bash scripts/test.sh [nextest args]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
    echo "redis-server is missing: installing it with apt-get"
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
    # Debian's package starts a system-wide server; the tests start their own.
    $sudo systemctl disable --now redis-server >/dev/null 2>&1 || true
fi

if ! cargo nextest --version >/dev/null 2>&1; then
    echo "cargo-nextest is missing: installing it (cargo install cargo-nextest --locked)"
    cargo install cargo-nextest --locked
fi

cargo nextest run --workspace --all-features --no-fail-fast "$@"
cargo test --workspace --all-features --doc
