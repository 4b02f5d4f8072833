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
cargo test --workspace --locked -- --test-threads="${ATELIER_TEST_THREADS:-4}"
