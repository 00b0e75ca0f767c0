#!/usr/bin/env bash
# The recipes with the heaviest dependencies: Leptos (leptos_axum) and loco-rs, in their own
# workspace, recipes/heavy, with its own lock file (README, "Other frameworks"). Formats,
# lints and tests them; .ci/run runs it after the suite. The poem and salvo recipes are
# workspace members: the suite builds and tests them with everything else.
# Cold, on the 2-core CI machine: 2 min 47 s.
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
# Linted as they are built: cargo hands the recipes themselves (not their dependencies) to
# clippy's driver, which lints and then compiles them like rustc, so the dependencies, most
# of the time here, build once rather than once for `cargo clippy` and again for the tests.
# -D warnings reaches the recipes only: cargo caps the lints of registry crates.
RUSTC_WORKSPACE_WRAPPER="$(command -v clippy-driver)" RUSTFLAGS="${RUSTFLAGS:-} -D warnings" \
    step cargo test --workspace --locked
