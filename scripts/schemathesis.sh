#!/usr/bin/env bash
# Property-based API testing with schemathesis against a real `atelier serve`:
# every operation of /api/v1/openapi.json gets generated valid and invalid
# requests. Checks: no 5xx, no crash (the server is alive and logged no
# panic), status codes, content types and bodies as the schema says; then
# that the requests the server refused changed nothing (every session that
# exists was answered with a 2xx create, and the job seeded beforehand is
# exactly as it was).
#
#   scripts/schemathesis.sh                         # CI: 30 examples per operation
#   ST_MAX_EXAMPLES=500 ST_MAX_TIME=900 scripts/schemathesis.sh   # a longer run
#   ST_EXCLUDE_CHECKS=none scripts/schemathesis.sh  # every check, also the known gaps
#
# The server runs with its own data folder, port and users file, as a test
# account created here (sessions run as it) and removed at the end, also on
# failure. Schemathesis is installed from PyPI into a venv under
# $ATELIER_CACHE. Must run as root (it creates an account).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_root
root=$(cd "$here/.." && pwd)

st_version=4.32.5
max_examples=${ST_MAX_EXAMPLES:-30}
max_time=${ST_MAX_TIME:-45}
# Checks left out until the OpenAPI annotations list every status the
# handlers answer (400 for a bad query or body, 403, 415, the 400 for
# `queue`): status_code_conformance and positive_data_acceptance fail on
# those today. `ST_EXCLUDE_CHECKS=none` runs every check.
exclude_checks=${ST_EXCLUDE_CHECKS:-status_code_conformance,positive_data_acceptance}
venv=$ATELIER_CACHE/schemathesis

apt_install python3-venv curl
if [ "$("$venv/bin/st" --version 2>/dev/null)" != "st, version $st_version" ]; then
  say "installing schemathesis $st_version into $venv"
  rm -rf "$venv"
  mkdir -p "$ATELIER_CACHE/pip"
  /usr/bin/python3 -m venv "$venv"
  PIP_CACHE_DIR=$ATELIER_CACHE/pip "$venv/bin/pip" install -q --disable-pip-version-check \
    "schemathesis==$st_version"
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ATELIER_CACHE/target}
say "building atelier"
(cd "$root" && cargo build -q -p atelier --locked)
atelier=$CARGO_TARGET_DIR/debug/atelier

work=$(mktemp -d)
chmod 755 "$work" # the session account must reach its folder under the data dir
user=atlst$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
server_pid=
cleanup() {
  local status=$?
  set +e
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    stop_sessions
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null
  fi
  if id "$user" >/dev/null 2>&1; then
    pkill -9 -u "$user" 2>/dev/null
    sleep 0.2
    userdel -r "$user" 2>/dev/null
  fi
  rm -rf "$work"
  if [ "$status" -eq 0 ]; then
    echo "schemathesis: PASS"
  else
    echo "schemathesis: FAIL (exit $status)"
  fi
  echo "schemathesis: $passed passed, $((3 - passed)) failed"
  exit "$status"
}
passed=0
trap cleanup EXIT

say "creating test account $user"
useradd -m -s /bin/bash "$user"
chmod 700 "/home/$user"
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
config=$work/atelier.toml
cat >"$config" <<TOML
listen = "127.0.0.1:$port"
data_dir = "$work/data"
[auth]
provider = "users-file"
[sessions]
stop_grace_secs = 2
max_per_user = 1
TOML
od -An -N12 -tx1 /dev/urandom | tr -d ' \n' | "$atelier" user add "$user" --password-stdin --config "$config" >/dev/null
# The token stays in files and the environment, never on a command line.
umask 077
"$atelier" token create --user "$user" --config "$config" >"$work/token"
printf 'Authorization: Bearer %s\n' "$(cat "$work/token")" >"$work/auth-header"
ATELIER_ST_TOKEN=$(cat "$work/token")
export ATELIER_ST_TOKEN
umask 022

api() { curl -sS --max-time 10 -H @"$work/auth-header" "$@"; }
stop_sessions() {
  local ids id
  ids=$(api "$base/api/v1/sessions" | "$venv/bin/python" -c \
    'import json, sys; print(" ".join(s["id"] for s in json.load(sys.stdin)["sessions"] if s["state"] in ("pending", "starting", "running", "lost")))')
  for id in $ids; do api -X POST -o /dev/null "$base/api/v1/sessions/$id/stop"; done
  for _ in $(seq 50); do
    api "$base/api/v1/sessions" | grep -q '"stopping"\|"starting"\|"pending"\|"running"' || return 0
    sleep 0.2
  done
}

say "starting atelier serve on $base"
ATELIER_LOG=info "$atelier" serve --config "$config" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 150); do
  curl -fsS -o /dev/null "$base/health-check" 2>/dev/null && break
  kill -0 "$server_pid" || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done

# A job that ends at once: afterwards it must be exactly as it is now.
api -f -o /dev/null -H 'Content-Type: application/json' \
  -d '{"name":"seed","command":["/bin/true"]}' "$base/api/v1/jobs"
for _ in $(seq 100); do
  api "$base/api/v1/jobs" | grep -q '"succeeded"\|"failed"' && break
  sleep 0.1
done
api "$base/api/v1/sessions" >"$work/sessions-before.json"
api "$base/api/v1/jobs" >"$work/jobs-before.json"

cat >"$work/schemathesis.toml" <<'TOML'
headers = { Authorization = "Bearer ${ATELIER_ST_TOKEN}" }
TOML
say "schemathesis: $max_examples examples per operation, at most ${max_time}s, all checks but: $exclude_checks"
exclude=()
[ "$exclude_checks" != none ] && exclude=(--exclude-checks "$exclude_checks")
cd "$work"
st_status=0
# /events is a never-ending event stream, not a request/response operation.
"$venv/bin/st" --config-file "$work/schemathesis.toml" run "$base/api/v1/openapi.json" \
  --max-examples "$max_examples" --max-time "$max_time" --checks all "${exclude[@]}" \
  --exclude-path /api/v1/events --request-timeout 10 --workers 1 \
  --generation-database none --no-color \
  --report har --report-har-path "$work/requests.har" 2>&1 | tee "$work/st.log" || st_status=$?
if [ "$st_status" -eq 0 ]; then passed=$((passed + 1)); else say "schemathesis found failures (exit $st_status)"; fi

if kill -0 "$server_pid" 2>/dev/null && ! grep -q 'panicked' "$work/server.log"; then
  passed=$((passed + 1))
else
  say "the server crashed or panicked; its log:"
  tail -n 50 "$work/server.log" >&2
fi

api "$base/api/v1/sessions" >"$work/sessions-after.json"
api "$base/api/v1/jobs" >"$work/jobs-after.json"
if "$venv/bin/python" - "$work" <<'PY'
"""Refused requests changed nothing: every session and job is one a 2xx
create made, and the seeded job is unchanged unless a 2xx request named it."""
import json, sys
work = sys.argv[1]
load = lambda name: json.load(open(f"{work}/{name}"))
created, created_jobs, touched, requests = set(), set(), set(), 0
for entry in load("requests.har")["log"]["entries"]:
    requests += 1
    request, response = entry["request"], entry["response"]
    path = request["url"].split("?")[0]
    if not 200 <= response["status"] < 300:
        continue
    if request["method"] == "POST" and path.endswith("/api/v1/sessions"):
        created.add(json.loads(response["content"]["text"])["id"])
    elif request["method"] == "POST" and path.endswith("/api/v1/jobs"):
        created_jobs.add(json.loads(response["content"]["text"])["id"])
    elif request["method"] in ("POST", "DELETE") and "/api/v1/jobs/" in path:
        touched.add(path.split("/api/v1/jobs/")[1].split("/")[0])
before = {s["id"] for s in load("sessions-before.json")["sessions"]}
after = {s["id"] for s in load("sessions-after.json")["sessions"]}
stray = after - before - created
jobs_before, jobs_after = load("jobs-before.json")["jobs"], load("jobs-after.json")["jobs"]
print(f"{requests} requests sent; {len(created)} sessions created by 2xx answers, {len(after)} exist")
problems = []
if stray:
    problems.append(f"sessions that no successful request created: {sorted(stray)}")
seed = jobs_before[0]["id"] if len(jobs_before) == 1 else None
stray_jobs = {j["id"] for j in jobs_after} - created_jobs - {seed}
if stray_jobs:
    problems.append(f"jobs that no successful request created: {sorted(stray_jobs)}")
seed_after = [j for j in jobs_after if j["id"] == seed]
if seed is None or (seed not in touched and seed_after != jobs_before):
    problems.append(f"the seeded job changed without a successful request naming it: {jobs_before} -> {seed_after}")
for problem in problems:
    print("FAIL:", problem)
sys.exit(1 if problems else 0)
PY
then
  passed=$((passed + 1))
fi
[ "$passed" -eq 3 ]
