#!/usr/bin/env bash
# Runs Atelier's end-to-end tests in a real browser (tests/browser, node's test
# runner driving Debian's Chromium through playwright-core): logging in,
# JupyterLab, VS Code and Jupyter Notebook sessions, a job's live output,
# logging out, and a JupyterLab session on the single-node Slurm (started by
# scripts/slurm-up.sh). Installs what it needs, creates its own Linux user and its own
# `atelier serve` on a free port, and removes both afterwards, also when a test
# fails. Must run as root. The output ends with node's test summary.
#
# Environment: CARGO_TARGET_DIR (default $ATELIER_CACHE/target: the atelier
# binary is $CARGO_TARGET_DIR/debug/atelier, built here by `cargo build -p
# atelier`), ATELIER_ARTIFACTS (default target/browser-artifacts: screenshots
# NN-step.png per test, the server's log). Arguments: test files to run
# (paths relative to tests/browser), default all of them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_root
root=$(cd "$here/.." && pwd)
suite=$root/tests/browser

# ---- what the tests need ----
apt_install chromium curl
command -v node >/dev/null || apt_install nodejs
command -v npm >/dev/null || apt_install npm
"$here/install-ides.sh"
"$here/install-languages.sh"
eval "$("$here/slurm-up.sh")"   # 07-slurm runs a session on it
if [ ! -f /etc/pam.d/atelier ]; then
  echo "the PAM service /etc/pam.d/atelier is missing: run scripts/test-env.sh first" >&2
  exit 1
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ATELIER_CACHE/target}
say "cargo build -p atelier"
(cd "$root" && cargo build -q -p atelier --locked)
bin=$CARGO_TARGET_DIR/debug/atelier

# npm ci only when the lock file changed since the last install.
if ! cmp -s "$suite/package-lock.json" "$suite/node_modules/.atelier-lock"; then
  say "npm ci (tests/browser)"
  mkdir -p "$ATELIER_CACHE/npm"
  (cd "$suite" && npm ci --cache "$ATELIER_CACHE/npm" --prefer-offline --no-audit --no-fund --loglevel=error)
  cp "$suite/package-lock.json" "$suite/node_modules/.atelier-lock"
fi

artifacts=${ATELIER_ARTIFACTS:-$root/target/browser-artifacts}
rm -rf "$artifacts"
mkdir -p "$artifacts"
artifacts=$(cd "$artifacts" && pwd)

# ---- the test user, the server, and their removal ----
user=atlb$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
work=$(mktemp -d /tmp/atelier-browser.XXXXXX)
server_pid=
url=

# Stops what the tests may have left running (through the API, so the
# sessions' cgroups go too), then the server, the user and the folder.
# Quiet: its messages go to cleanup.log, so node's summary stays last.
cleanup() {
  set +e
  {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null && id "$user" >/dev/null 2>&1; then
      ATELIER_TOKEN=$("$bin" token create --user "$user" --config "$work/atelier.toml")
      export ATELIER_TOKEN ATELIER_SERVER=$url
      "$bin" job list | awk '$2 == "pending" || $2 == "running" { print $1 }' |
        while read -r id; do "$bin" job cancel "$id"; done
      "$bin" session list | awk '$3 ~ /^(pending|starting|running|stopping)$/ { print $1 }' |
        while read -r id; do "$bin" session stop --wait "$id"; done
    fi
    if [ -n "$server_pid" ]; then
      kill -TERM "$server_pid"
      for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$server_pid" 2>/dev/null
      wait "$server_pid"
    fi
    if id "$user" >/dev/null 2>&1; then
      # Anything of the test user's that survived (it owns nothing else).
      pkill -KILL -u "$user"
      sleep 0.2
      userdel -r "$user"
    fi
    rm -rf "$work"
  } >>"$artifacts/cleanup.log" 2>&1
  if id "$user" >/dev/null 2>&1; then echo "cleanup: could not remove user $user" >&2; fi
}
trap cleanup EXIT

useradd -m -s /bin/bash "$user"
home=$(getent passwd "$user" | cut -d: -f6)
chmod 0700 "$home"
echo "$user:$password" | chpasswd
hello="hello from the browser test $(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$hello" > "$home/hello.txt"
cat > "$home/ticker.py" <<'PY'
import time

for i in range(30):
    print("tick %d" % i, flush=True)
    time.sleep(0.2)
PY
chown "$user:" "$home/hello.txt" "$home/ticker.py"

port=$(node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")
url=http://127.0.0.1:$port
chmod 0755 "$work"  # session users reach their folder under the data dir
cat > "$work/atelier.toml" <<TOML
listen = "127.0.0.1:$port"
data_dir = "$work/data"

[auth]
provider = "pam"

[sessions]
stop_grace_secs = 3

[[cluster]]
name = "hpc"
backend = "slurm"
slurm_conf = "$SLURM_CONF"
poll_secs = 0.5
TOML

say "starting atelier serve on $url"
ATELIER_LOG=info "$bin" serve --config "$work/atelier.toml" >"$artifacts/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 150); do
  curl -fsS -o /dev/null "$url/health-check" 2>/dev/null && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "atelier serve exited; its log:" >&2
    cat "$artifacts/server.log" >&2
    exit 1
  fi
  sleep 0.1
done
curl -fsS -o /dev/null "$url/health-check"

# ---- the tests ----
say "browser tests (screenshots in $artifacts)"
cd "$suite"
[ $# -gt 0 ] || set -- ./*.test.js
ATELIER_URL=$url ATELIER_TEST_USER=$user ATELIER_TEST_PASSWORD=$password ATELIER_TEST_HOME=$home \
  ATELIER_TEST_HELLO=$hello ATELIER_ARTIFACTS=$artifacts \
  node --test --test-concurrency=1 --test-reporter=spec "$@"
