#!/usr/bin/env bash
# The whole test suite: unit, integration, black-box and doc tests of every package.
# Installs what is missing (cargo-nextest) first. Usage: bash scripts/test.sh [nextest args]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
    echo "cargo-nextest is missing: installing it (cargo install cargo-nextest --locked)"
    cargo install cargo-nextest --locked
fi

cargo nextest run --workspace --all-features --no-fail-fast "$@"
cargo test --workspace --all-features --doc
