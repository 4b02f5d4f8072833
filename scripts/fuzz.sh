#!/usr/bin/env bash
# Fuzzes the parsers that read untrusted text (fuzz/fuzz_targets/*.rs) with
# libFuzzer through cargo-fuzz, for a bounded time per target.
#
#   scripts/fuzz.sh                      # every target, 20 s each (CI)
#   FUZZ_SECONDS=600 scripts/fuzz.sh     # a longer run, 10 min each
#   scripts/fuzz.sh config users_file    # only these targets
#
# For a night-long run give each target its own hours and more jobs, e.g.
# `FUZZ_SECONDS=28800 FUZZ_JOBS=2 scripts/fuzz.sh proxy_path`.
#
# cargo-fuzz is installed from crates.io into $ATELIER_CACHE/cargo-bin. The
# toolchain is stable: RUSTC_BOOTSTRAP=1 lets it take the nightly-only flags
# (sanitizer coverage) that cargo-fuzz passes. The committed seeds in
# fuzz/corpus/<target>/ are read, never written: new inputs go to a temporary
# corpus. A crash is saved under fuzz/artifacts/<target>/ and fails the run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(cd "$here/.." && pwd)

seconds=${FUZZ_SECONDS:-20}
jobs=${FUZZ_JOBS:-1}
cargo_fuzz_version=0.13.2
bin=$ATELIER_CACHE/cargo-bin/bin

if [ "$("$bin/cargo-fuzz" --version 2>/dev/null)" != "cargo-fuzz $cargo_fuzz_version" ]; then
  say "installing cargo-fuzz $cargo_fuzz_version into $ATELIER_CACHE/cargo-bin"
  mkdir -p "$ATELIER_CACHE/cargo-bin"
  cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked --quiet --root "$ATELIER_CACHE/cargo-bin"
fi
export PATH=$bin:$PATH
export RUSTC_BOOTSTRAP=1
# Shared with scripts/test.sh; the fuzz build has its own target triple folder.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ATELIER_CACHE/target}

cd "$root/fuzz"
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

# Safe Rust only: no sanitizer (faster), but debug assertions and overflow
# checks on, so arithmetic mistakes crash too.
build_flags=(--sanitizer none --debug-assertions)
say "building fuzz targets: ${targets[*]}"
cargo fuzz build "${build_flags[@]}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# -jobs (even -jobs=1) makes libFuzzer fork workers; only ask for them when wanted.
parallel=()
[ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
passed=0 failed=0 total=0
summary=()
for target in "${targets[@]}"; do
  say "fuzzing $target for ${seconds}s"
  mkdir -p "$work/$target" "artifacts/$target"
  log=$work/$target.log
  status=0
  # First corpus folder is written to (temporary); the seeds are only read.
  # (cargo-fuzz itself points libFuzzer's crash files at fuzz/artifacts/<target>/.)
  cargo fuzz run "${build_flags[@]}" "$target" "$work/$target" "corpus/$target" -- \
    -max_total_time="$seconds" "${parallel[@]}" -print_final_stats=1 \
    -max_len=4096 -timeout=10 -rss_limit_mb=2048 >"$log" 2>&1 || status=$?
  if [ "$jobs" -gt 1 ]; then
    # Parallel workers write their output to fuzz-<n>.log in the current folder.
    cat fuzz-*.log >>"$log" 2>/dev/null || true
    rm -f fuzz-*.log
  fi
  runs=$(awk '/stat::number_of_executed_units:/ { n += $2 } END { print n + 0 }' "$log")
  total=$((total + runs))
  if [ "$status" -eq 0 ]; then
    passed=$((passed + 1))
    summary+=("  $target: ok, $runs inputs in ${seconds}s")
  else
    failed=$((failed + 1))
    grep -h -A4 'panicked at\|^SUMMARY\|^==.*ERROR' "$log" >&2 || tail -n 40 "$log" >&2
    summary+=("  $target: FAILED (exit $status) after $runs inputs; see fuzz/artifacts/$target/")
  fi
done

say "fuzz summary ($total inputs)"
printf '%s\n' "${summary[@]}"
if [ "$failed" -eq 0 ]; then
  echo "fuzz: PASS"
else
  echo "fuzz: FAIL"
fi
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
