#!/usr/bin/env bash
# Runs every fuzz target for a bounded time: `fuzz/run.sh [SECONDS_PER_TARGET]` (default 30).
#
# Installs cargo-fuzz when it is missing. Uses the nightly toolchain when there is one, else the
# stable one with RUSTC_BOOTSTRAP=1 (cargo-fuzz needs nightly flags for the sanitizer). New
# corpus entries go to a scratch directory: the checked-in seeds under fuzz/corpus/<target>/
# are only read. A crash stops the script with a non-zero status; its input is written to
# fuzz/artifacts/<target>/ (copy it into fuzz/corpus/<target>/ under a descriptive name to keep
# it as a regression test: tests/fuzz_corpus.rs replays that corpus on stable).
set -euo pipefail
secs="${1:-30}"
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
cargo fuzz --version

if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  fuzz=(cargo +nightly fuzz)
else
  echo "no nightly toolchain: using stable with RUSTC_BOOTSTRAP=1"
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

"${fuzz[@]}" build
for target in lines probe scan simd; do
  echo "=== fuzz $target for ${secs}s"
  mkdir -p "$scratch/$target" "artifacts/$target"
  log="$scratch/$target.log"
  status=0
  "${fuzz[@]}" run "$target" "$scratch/$target" "corpus/$target" -- \
    -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=4096 \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    # The panic message, the stack and the path of the crashing input.
    grep -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' "$log" | tail -n 60
    echo "fuzz target $target failed (status $status): see fuzz/artifacts/$target/" >&2
    exit 1
  fi
  grep -E '^(INFO: seed corpus|Done [0-9]+ runs|stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb))' "$log" || true
done
echo "fuzzing: 4 targets, ${secs}s each, no crash"
