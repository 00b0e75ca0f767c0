#!/usr/bin/env bash
# Packages every crate meant for publishing, then unpacks the archive and builds it and runs
# its doctests there with every feature: the
# README is the crate docs, so this proves the published crate carries what its docs need.
# Usage: bash scripts/package.sh
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-$PWD/target}"
version="$(cargo pkgid -p tower-flash | sed 's/.*[#@]//')"

# --no-verify: cargo's own check would build the archive once more with default features;
# the doctests below build the unpacked archive with every feature, which proves more.
# Packaged together, so that tower-flash-actix resolves the tower-flash packaged beside it.
cargo package -p tower-flash -p tower-flash-actix --locked --no-verify

unpacked="$(mktemp -d)"
trap 'rm -rf "$unpacked"' EXIT
for crate in tower-flash tower-flash-actix; do
    tar -xzf "$target/package/$crate-$version.crate" -C "$unpacked"
    for file in README.md LICENSE-MIT LICENSE-APACHE; do
        [ -f "$unpacked/$crate-$version/$file" ] || { echo "$crate's package lacks $file" >&2; exit 1; }
    done
done
# The unpacked crate is a workspace of its own: point it at the workspace's target
# directory so that it reuses the dependencies already built, rather than building them all
# again in the temporary directory.
cargo test --manifest-path "$unpacked/tower-flash-$version/Cargo.toml" --locked --all-features \
    --doc --target-dir "$target"
# tower-flash-actix's archive asks for tower-flash from the registry: point it at the
# unpacked archive instead (which changes its lock file, hence no --locked).
cargo test --manifest-path "$unpacked/tower-flash-actix-$version/Cargo.toml" --all-features \
    --doc --target-dir "$target" \
    --config "patch.crates-io.tower-flash.path=\"$unpacked/tower-flash-$version\""
