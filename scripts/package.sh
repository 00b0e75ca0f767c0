#!/usr/bin/env bash
# Packages every crate meant for publishing, unpacks the archives and checks each: the files
# its docs need are in it (the README is the crate docs), it compiles as published with every
# feature (library and examples, against the archive's own manifest and lock file), and its
# sources are the workspace's, byte for byte, so that the suite's doctests
# (scripts/test.sh) are the archive's. Building the archive's doctests here again took CI
# 100 s for dependencies built with the archive's own features, used by nothing else.
# Usage: bash scripts/package.sh
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-$PWD/target}"
version="$(cargo pkgid -p tower-flash | sed 's/.*[#@]//')"

# --no-verify: cargo's own check would build the archive with default features only; the
# check below covers every feature.
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
# The archive's files are the workspace's (the manifest aside, which cargo rewrites).
for crate in tower-flash tower-flash-actix; do
    (cd "$unpacked/$crate-$version" && find . -type f ! -name 'Cargo.toml*' \
        ! -name .cargo_vcs_info.json ! -name Cargo.lock -printf '%P\n') | while read -r file; do
        source="$crate/$file"
        [ -f "$source" ] || source="$file" # README and licences may come from the root
        cmp -s "$unpacked/$crate-$version/$file" "$source" \
            || { echo "$crate's package has a $file that differs from the workspace's" >&2; exit 1; }
    done
done
# The unpacked crate is a workspace of its own: point it at the workspace's target
# directory so that it reuses the dependencies already checked where their features agree.
cargo check --manifest-path "$unpacked/tower-flash-$version/Cargo.toml" --locked --all-features \
    --lib --examples --target-dir "$target"
# tower-flash-actix's archive asks for tower-flash from the registry: point it at the
# unpacked archive instead (which changes its lock file, hence no --locked). Its tests need
# the workspace's test kit, which is not published; its example does not.
cargo check --manifest-path "$unpacked/tower-flash-actix-$version/Cargo.toml" --all-features \
    --lib --examples --target-dir "$target" \
    --config "patch.crates-io.tower-flash.path=\"$unpacked/tower-flash-$version\""
