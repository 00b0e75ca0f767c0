#!/usr/bin/env bash
# The recipes too big to build in CI (README, "Other frameworks"): Leptos (leptos_axum)
# and loco-rs, in their own workspace, recipes/heavy, with its own lock file. Formats,
# lints and tests them as .ci/run does the main workspace. The poem and salvo recipes are
# workspace members: CI builds and tests them with everything else.
# Cold, on the 2-core CI machine: 5 min 42 s (lint 163 s, build and test 178 s).
# Usage: bash scripts/recipes.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# Beside the workspace's build, in a directory of its own (another lock file), not in the
# source tree.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/recipes-heavy"
cd recipes/heavy

step() {
    local started=$SECONDS
    echo "=== $*"
    "$@"
    echo "=== done in $((SECONDS - started)) s: $*"
}

step cargo fmt --all -- --check
step cargo clippy --workspace --all-targets --locked -- -D warnings
step cargo test --workspace --locked
