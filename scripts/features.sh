#!/usr/bin/env bash
# Every feature of tower-flash (and of tower-flash-actix) compiles on its own: no feature,
# each feature alone (with its implied ones; the default set is one of them); all of them together is .ci/run's clippy step
# (--all-features --all-targets), not repeated here. This is an explicit list rather than
# `cargo hack --feature-powerset`: the 8 features make 256 combinations, far too slow for CI
# on 2 cores, and the features are additive (each only adds items behind its own cfg), so a
# break shows up in the combinations checked here.
# Usage: bash scripts/features.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Every published package: tower-flash, and tower-flash-actix (whose features only pass
# tower-flash's store features through).
for package in tower-flash tower-flash-actix; do
    features=$(sed -n '/^\[features\]/,/^\[/p' "$package/Cargo.toml" \
        | sed -n 's/^\([a-z][a-z0-9-]*\) = .*/\1/p' | grep -vx default)

    check() {
        echo "== $package: $*"
        cargo check -p "$package" --lib --locked --quiet "$@"
    }

    # (tower-flash's default set is `axum` alone, checked in the loop.)
    check --no-default-features
    for feature in $features; do
        check --no-default-features --features "$feature"
    done
done
