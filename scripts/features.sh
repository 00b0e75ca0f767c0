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

check() { # package, cargo flags…
    local package="$1"
    shift
    echo "== $package: $*"
    cargo check -p "$package" --lib --locked --quiet "$@"
}

# tower-flash: none, and each feature alone (its default set is `axum` alone).
features=$(sed -n '/^\[features\]/,/^\[/p' tower-flash/Cargo.toml \
    | sed -n 's/^\([a-z][a-z0-9-]*\) = .*/\1/p' | grep -vx default)
check tower-flash --no-default-features
for feature in $features; do
    check tower-flash --no-default-features --features "$feature"
done

# tower-flash-actix's features only pass tower-flash's through (it has no `cfg(feature)`
# of its own, which this guards): each alone is tower-flash's check above with the same
# adapter code, so only its smallest build is checked here (all of them: clippy).
if grep -rq 'cfg(feature' tower-flash-actix/src; then
    echo "tower-flash-actix has cfg(feature) code: check its features one by one" >&2
    exit 1
fi
check tower-flash-actix --no-default-features
