#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a bounded time (FUZZ_SECONDS each, default 15) and
# fails on a crash, a timeout or a build failure. Without a nightly toolchain, or when
# cargo-fuzz is neither installed nor installable, it skips (exit 0). Called by .ci/run.
#
# New inputs the runs find go to a scratch directory, never into the tracked seed corpora;
# a crashing input is kept in fuzz/artifacts/<target>/ (reproduce it with
# `cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>`).
set -uo pipefail

cd "$(dirname "$0")" || exit 1
FUZZ_SECONDS="${FUZZ_SECONDS:-15}"

skip() {
    echo "fuzz: skipped (no nightly toolchain)"
    [ -n "${1:-}" ] && echo "fuzz: ($1)" >&2
    exit 0
}

cargo +nightly --version >/dev/null 2>&1 || skip "cargo +nightly --version failed"
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked >/dev/null 2>&1 || skip "cargo-fuzz is not installed and cannot be installed"
    cargo +nightly fuzz --version >/dev/null 2>&1 || skip "cargo-fuzz does not run"
fi

if ! cargo +nightly fuzz build; then
    echo "fuzz: FAILED (the fuzz targets do not build)"
    exit 1
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
status=0
for target in $(cargo +nightly fuzz list); do
    mkdir -p "$scratch/corpus/$target"
    seeds=()
    [ -d "corpus/$target" ] && seeds=("corpus/$target")
    echo "fuzz: $target for ${FUZZ_SECONDS}s"
    if cargo +nightly fuzz run "$target" "$scratch/corpus/$target" "${seeds[@]}" -- \
        -max_total_time="$FUZZ_SECONDS" -timeout=30 -rss_limit_mb=4096 \
        >"$scratch/$target.log" 2>&1; then
        grep -E '^Done [0-9]+ runs' "$scratch/$target.log" | sed "s/^/fuzz: $target: /"
    else
        echo "fuzz: $target FAILED (the input is in fuzz/artifacts/$target/):"
        tail -n 80 "$scratch/$target.log"
        status=1
    fi
done
exit "$status"
