#!/usr/bin/env bash
# Runs Atelier's whole test suite: formatting, lints, and every unit and
# integration test (real JupyterLab, real Linux users, real PAM, real
# PostgreSQL). Must run as root: tests create users and run sessions as them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_root
"$here/test-env.sh"
cd "$here/.."

# Build products live outside the clone so CI runs reuse them.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ATELIER_CACHE/target}
mkdir -p "$CARGO_TARGET_DIR"
chmod 755 "$ATELIER_CACHE" "$CARGO_TARGET_DIR"
# Cargo keys the workspace's own crates by name, not by folder, and checks
# the files their last build read: a build from another checkout whose files
# have not changed since would be taken as fresh. Forget those builds, so
# that this clone's sources are what is tested (dependencies stay cached).
rm -rf "$CARGO_TARGET_DIR"/debug/.fingerprint/atelier-*

say "cargo fmt --check"
cargo fmt --all -- --check
say "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
say "cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# Every step runs even if one before it failed; the summary counts them all.
step() { "$@" 2>&1 | tee -a "$log" || status=1; }
load_tests=(--skip two_hundred_users --skip a_thousand_sessions)
step cargo test --workspace --locked -- --test-threads="${ATELIER_TEST_THREADS:-4}" "${load_tests[@]}"
say "load tests (alone, so that they measure the server and not each other)"
step cargo test -p atelier --locked --test load -- --test-threads=1 --nocapture
say "fuzzing"
step "$here/fuzz.sh"          # libFuzzer on the parsers, FUZZ_SECONDS (20) per target
say "schemathesis"
step "$here/schemathesis.sh"  # generated API requests against a real server, about a minute
say "benchmark (short)"
step "$here/bench.sh" --short # proxy, WebSocket, start and API against the peers, a few minutes
say "browser tests"
step "$here/browser-tests.sh" # Chromium end to end (tests/browser)

# One closing line for the whole run: cargo's per-binary lines, the
# "<tool>: N passed, M failed" lines of the scripts, node's "ℹ pass/fail N".
awk '
  /^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
  /^(fuzz|schemathesis|bench): [0-9]+ passed, [0-9]+ failed/ { p += $2; f += $4 }
  /^ℹ pass [0-9]+/ { p += $3 }
  /^ℹ fail [0-9]+/ { f += $3 }
  END { printf "Summary: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
