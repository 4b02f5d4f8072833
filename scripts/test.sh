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

say "cargo fmt --check"
cargo fmt --all -- --check
say "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
say "cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked -- --test-threads="${ATELIER_TEST_THREADS:-4}" 2>&1 | tee "$log"
# One closing line for the whole run (cargo ends on a per-binary line).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     END { printf "Summary: %d passed, %d failed\n", p, f }' "$log"
