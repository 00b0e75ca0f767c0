#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer through cargo-fuzz) of every parser of untrusted input,
# on stable Rust: `cargo fuzz run --sanitizer none` needs no nightly (VERIFICATION.md,
# "Coverage-guided fuzzing (libFuzzer)"). Installs cargo-fuzz if missing.
#
# Usage: bash scripts/fuzz.sh [RUNS] [target...]
#        bash scripts/fuzz.sh --ci [target...]
#   RUNS     executions per target (default 10000000), each target in turn, one process
#            (-jobs=1 -workers=1), under `nice -n 10`, from the committed corpus
#            fuzz/corpus/<target> (new inputs are added to it; minimize before committing:
#            `cargo fuzz cmin --sanitizer none <target>` in fuzz/).
#   --ci     a short run: 20,000 executions per target, which leaves the committed corpus
#            as it is (plus the cold build: two builds, htmx_trigger's without comparison
#            tracing, about 9 minutes on a loaded 2-core machine).
#   target   default: every target in fuzz/Cargo.toml.
# Environment: FUZZ_MAX_TOTAL_TIME (seconds per target, default 3600): libFuzzer's
# -max_total_time guard, so a slow target cannot run for ever; a run it cuts short is
# reported as such. Extra libFuzzer flags: FUZZ_ARGS.
# Prints per target: executions, time, executions per second, corpus files and size. A
# crash stops the script with libFuzzer's report and the input in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

runs=10000000
ci=false
if [[ "${1:-}" == "--ci" ]]; then
    runs=20000
    ci=true
    shift
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then
    runs=$1
    shift
fi
max_time=${FUZZ_MAX_TOTAL_TIME:-3600}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: installing it (cargo install cargo-fuzz --locked)"
    cargo install cargo-fuzz --locked
fi

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

# Release mode with debug assertions and overflow checks (cargo-fuzz's default), no
# sanitizer: the one setting stable Rust builds.
nice -n 10 cargo fuzz build --sanitizer none
# htmx_trigger without comparison tracing (target-notc/): its executions build whole JSON
# headers, and tracing every comparison of that work made it run at half the speed, too
# slow for 10,000,000 executions in an hour on a shared 2-core machine.
no_trace_compares=(htmx_trigger)
nice -n 10 cargo fuzz build --sanitizer none --no-trace-compares --target-dir target-notc htmx_trigger
# Longest input per target (libFuzzer's -max_len; its default is 4096). Past a few hundred
# bytes, inputs only make longer strings for the same code: a Location or a query of 4096
# characters ran location at under 6,000 exec/s against 38,000 at first. 512 bytes is
# still ten times what the properties draw for a Location (40 characters) or a query (60),
# enough for messages with nested data, and for htmx_trigger headers past both of its bounds
# (39 messages of about 90 bytes of JSON each before their texts).
declare -A max_len=(
    [location]=512 [query]=512 [message_truncated]=512 [message_round_trip]=512
    [templates]=512 [htmx_trigger]=512
)
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

printf '%-20s %12s %8s %9s %8s %9s  %s\n' target executions time exec/s files size result
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    binary="target/x86_64-unknown-linux-gnu/release/$target"
    if [[ " ${no_trace_compares[*]} " == *" $target "* ]]; then
        binary="target-notc/x86_64-unknown-linux-gnu/release/$target"
    fi
    # New inputs go to the first corpus directory: the committed one, except in --ci mode,
    # which only reads it.
    corpora=("$PWD/corpus/$target")
    if $ci; then
        mkdir -p "$logs/new-$target"
        corpora=("$logs/new-$target" "$PWD/corpus/$target")
    fi
    start=$(date +%s.%N)
    status=0
    # One process, one worker; with -jobs libFuzzer writes its output to fuzz-0.log.
    (cd "$logs" && rm -f fuzz-0.log &&
        nice -n 10 "$OLDPWD/$binary" \
            -artifact_prefix="$OLDPWD/artifacts/$target/" \
            -runs="$runs" -max_total_time="$max_time" -print_final_stats=1 \
            -max_len="${max_len[$target]:-4096}" -jobs=1 -workers=1 ${FUZZ_ARGS:-} \
            "${corpora[@]}" >/dev/null 2>&1) || status=$?
    end=$(date +%s.%N)
    log="$logs/fuzz-0.log"
    cp "$log" "$logs/$target.log" 2>/dev/null || true
    executions=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    executions=${executions:-0}
    seconds=$(echo "$end - $start" | bc)
    rate=$(echo "$executions / $seconds" | bc)
    files=$(find "corpus/$target" -type f | wc -l)
    size=$(du -sh --apparent-size "corpus/$target" | cut -f1)
    if [[ $status -ne 0 ]] || grep -q -E '^==[0-9]+== ERROR|panicked at|deadly signal' "$log"; then
        result="FAILED (exit $status)"
    elif [[ $executions -lt $runs ]]; then
        result="cut short by -max_total_time=$max_time"
    else
        result=passed
    fi
    printf '%-20s %12s %7.0fs %9s %8s %9s  %s\n' "$target" "$executions" "$seconds" "$rate" "$files" "$size" "$result"
    if [[ $result == FAILED* ]]; then
        grep -A40 -E 'panicked at|ERROR' "$log" | head -60 >&2
        ls "artifacts/$target/" >&2 2>/dev/null || true
        exit 1
    fi
done
