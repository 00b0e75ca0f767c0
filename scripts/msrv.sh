#!/usr/bin/env bash
# The MSRV (rust-version in Cargo.toml) is held by two checks, since CI has one toolchain:
# clippy's `incompatible_msrv` (reads rust-version) flags std APIs newer than the MSRV in our
# code, and this script fails when a crate that users of tower-flash compile (its normal and
# build dependencies, with every feature, as locked) declares a newer rust-version.
# Dev-dependencies are left out: they build only our tests, on the current toolchain.
# Usage: bash scripts/msrv.sh
set -euo pipefail
cd "$(dirname "$0")/.."

cargo tree -p tower-flash -p tower-flash-actix --all-features --locked -e normal,build \
    --prefix none --format '{p}' | sed 's/ (.*//; s/ (\*)//' | sort -u > "${TMPDIR:-/tmp}/tower-flash-deps.$$"
trap 'rm -f "${TMPDIR:-/tmp}/tower-flash-deps.$$"' EXIT
cargo metadata --format-version 1 --locked | python3 -c '
import json, sys
deps = set(open(sys.argv[1]).read().split("\n"))
meta = json.load(sys.stdin)
def version(s):
    parts = [int(x) for x in s.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))
ours = next(p for p in meta["packages"] if p["name"] == "tower-flash")
msrv = ours["rust_version"]
newer = ["%s v%s needs Rust %s" % (p["name"], p["version"], p["rust_version"])
         for p in meta["packages"]
         if "%s v%s" % (p["name"], p["version"]) in deps and p.get("rust_version")
         and version(p["rust_version"]) > version(msrv)]
if newer:
    sys.exit(f"MSRV {msrv} not held by the locked dependencies:\n  " + "\n  ".join(newer))
print(f"MSRV {msrv}: every locked dependency of tower-flash and tower-flash-actix (all features) declares it or older")
' "${TMPDIR:-/tmp}/tower-flash-deps.$$"
