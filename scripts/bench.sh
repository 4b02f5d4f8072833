#!/usr/bin/env bash
# Atelier's benchmark (docs/benchmarks.md): installs the peers (nginx from
# Debian, configurable-http-proxy from npm and JupyterHub from PyPI into
# $ATELIER_CACHE), builds Atelier and atelier-bench in release mode, creates a
# throwaway Linux user, starts `atelier serve` with a custom kind that runs
# the test upstream, runs every case, and cleans everything away, also on
# failure. Results: results/<timestamp>/bench.{json,svg}.
#
#   sudo scripts/bench.sh            # the full run (about 20 minutes on 2 cores)
#   sudo scripts/bench.sh --short    # the CI version (a few minutes)
#   sudo scripts/bench.sh --cases http,ws   # some cases only
#
# ATELIER_BIN=/path/to/atelier uses that server binary instead of building it.
# Ends with the line `bench: N passed, M failed` (N: cases that produced figures).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
. "$here/lib.sh"
need_root

driver_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --short) driver_args+=(--short) ;;
    --cases) driver_args+=(--cases "$2"); shift ;;
    --cases=*) driver_args+=("$1") ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

# Pinned so every run compares the same peers.
chp_version=5.3.0
hub_version=6.1.1
jupyterlab_version=4.6.6   # the one scripts/install-ides.sh installs for Atelier
bench_cache=$ATELIER_CACHE/bench

install_peers() {
  # libpam0g-dev: the server links libpam (as in setup-and-run.sh).
  apt_install libpam0g-dev pkg-config nginx-light python3-venv procps curl
  # Node may come from elsewhere (with its own npm); Debian's only if there is none.
  command -v npm >/dev/null || apt_install nodejs npm
  "$here/install-ides.sh"
  local chp=$bench_cache/chp
  if [ "$(cat "$chp/.atelier-complete" 2>/dev/null)" != "$chp_version" ]; then
    say "installing configurable-http-proxy $chp_version"
    rm -rf "$chp" && mkdir -p "$chp"
    npm install --silent --no-audit --no-fund --prefix "$chp" "configurable-http-proxy@$chp_version" >/dev/null
    echo "$chp_version" > "$chp/.atelier-complete"
  fi
  local hub=$bench_cache/hub
  if [ "$(cat "$hub/.atelier-complete" 2>/dev/null)" != "$hub_version $jupyterlab_version" ]; then
    say "installing JupyterHub $hub_version with JupyterLab $jupyterlab_version"
    rm -rf "$hub"
    /usr/bin/python3 -m venv "$hub"
    PIP_CACHE_DIR=$ATELIER_CACHE/pip "$hub/bin/pip" install -q --disable-pip-version-check \
      "jupyterhub==$hub_version" "jupyterlab==$jupyterlab_version"
    echo "$hub_version $jupyterlab_version" > "$hub/.atelier-complete"
  fi
  chmod -R a+rX "$bench_cache"
}

# Cargo's own variable, so that a caller with its own target folder (CI, or
# an engineer keeping off another build's lock) gets its binaries from there.
target_dir=${CARGO_TARGET_DIR:-$repo/target}

build() {
  say "building atelier and atelier-bench (release)"
  # As in scripts/test.sh: a shared target folder may hold a build of the
  # workspace's crates from another checkout that cargo would take as fresh;
  # forget it, so that the binaries measured are this clone's.
  rm -rf "$target_dir"/release/.fingerprint/atelier-*
  # One cargo call: the two share most dependencies and one build lock.
  local packages=(-p atelier-bench)
  [ -n "${ATELIER_BIN:-}" ] || packages+=(-p atelier)
  (cd "$repo" && cargo build --release --locked -q "${packages[@]}")
  ATELIER_BIN=${ATELIER_BIN:-$target_dir/release/atelier}
}

work=""
user=""
server_pid=""
driver_pid=""
cleanup() {
  set +e
  # The driver leads a process group of its own with the peers it started
  # (nginx, configurable-http-proxy, JupyterHub, all as root): stop them all.
  if [ -n "$driver_pid" ]; then
    kill -TERM -- "-$driver_pid" 2>/dev/null
    wait "$driver_pid" 2>/dev/null
    sleep 0.5
    kill -KILL -- "-$driver_pid" 2>/dev/null
  fi
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  if [ -n "$user" ] && id "$user" >/dev/null 2>&1; then
    # Only the throwaway user's processes: its sessions, JupyterLab, JupyterHub's servers.
    pkill -KILL -u "$user" 2>/dev/null
    sleep 0.5
    userdel -r "$user" >/dev/null 2>&1 || userdel "$user" >/dev/null 2>&1
  fi
  [ -n "$work" ] && rm -rf "$work"
}
# Whatever happens (a failed install or build, a crash, Ctrl-C), the run ends
# with one `bench:` line that scripts/test.sh can count.
reported=""
finish() {
  local status=$?
  if [ "$status" -ne 0 ] && [ -n "$work" ] && [ -s "$work/server.log" ]; then
    say "the run failed; the end of the server's log (warnings and errors):"
    tail -20 "$work/server.log" >&2
  fi
  cleanup
  [ -n "$reported" ] || echo "bench: 0 passed, 1 failed"
}
trap finish EXIT
trap 'exit 130' INT TERM

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

install_peers
build
ulimit -n "$(ulimit -Hn)"   # WebSockets: every proxied socket is two descriptors

work=$(mktemp -d /tmp/atelier-bench.XXXXXX)
chmod 0755 "$work"
mkdir -p "$work/bin" "$work/peers"
install -m 0755 "$target_dir/release/atelier-bench" "$work/bin/atelier-bench"
user=atbench$$
say "creating the throwaway user $user"
useradd --create-home --home-dir "$work/home" --shell /bin/bash "$user"
chmod 0700 "$work/home"

port=$(free_port)
config=$work/atelier.toml
cat > "$config" <<TOML
listen = "127.0.0.1:$port"
data_dir = "$work/data"
[auth]
provider = "users-file"
[sessions]
max_per_user = 5000
stop_grace_secs = 3
[[kind]]
name = "bench"
label = "Benchmark upstream"
command = ["$work/bin/atelier-bench", "upstream", "--unix", "{socket}"]
ready_path = "/"
TOML
head -c 24 /dev/urandom | base64 | "$ATELIER_BIN" user add "$user" --password-stdin --config "$config" >/dev/null
token=$("$ATELIER_BIN" token create --user "$user" --config "$config")

say "starting atelier serve on 127.0.0.1:$port"
ATELIER_LOG=warn "$ATELIER_BIN" serve --config "$config" > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/health-check" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done

say "running the cases"
# Progress goes to stderr as it happens; the table and the closing line go
# to a file first, so that they are complete when read back below.
ATELIER_BENCH_TOKEN=$token setsid "$work/bin/atelier-bench" run \
  --atelier "http://127.0.0.1:$port" --atelier-pid "$server_pid" --data-dir "$work/data" \
  --user "$user" --work "$work/peers" --results "$repo/results" \
  --chp "$bench_cache/chp/node_modules/.bin/configurable-http-proxy" --hub "$bench_cache/hub" \
  "${driver_args[@]}" > "$work/driver.out" &
driver_pid=$!
status=0
wait "$driver_pid" || status=$?
driver_pid=""
cat "$work/driver.out"
if ! kill -0 "$server_pid" 2>/dev/null; then
  say "atelier serve died; the end of its log:"
  tail -20 "$work/server.log" >&2
  status=1
fi
# The driver's own `bench: N passed, M failed` line was just printed; if it
# never got that far, the EXIT trap reports the run as one failure.
if grep -qE '^bench: [0-9]+ passed, [0-9]+ failed$' "$work/driver.out"; then
  reported=1
fi
exit "$status"
