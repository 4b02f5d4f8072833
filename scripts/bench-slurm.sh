#!/usr/bin/env bash
# The Slurm benchmark (docs/slurm.md): starts the single-node Slurm of
# scripts/slurm-up.sh, builds Atelier in release mode, creates a throwaway
# Linux user, starts `atelier serve` with the cluster `hpc`, and measures
# (scripts/bench-slurm.py):
#   - submit-to-ready of JupyterLab on Slurm through Atelier against the same
#     JupyterLab submitted with sbatch by hand, alternating, in one run;
#   - the Slurm commands Atelier issues per minute with 0, 10 and 100 sessions.
# Cleans everything away, also on failure. Results: results/slurm-<time>/.
#
#   sudo scripts/bench-slurm.sh             # about 8 minutes
#   sudo scripts/bench-slurm.sh --short     # 1 round, 20 s windows, 0 and 10 sessions
#
# ATELIER_BIN=/path/to/atelier uses that server binary instead of building it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
. "$here/lib.sh"
need_root

driver_args=()
case "${1:-}" in
  --short) driver_args+=(--rounds 1 --window 20 --counts 0,10) ;;
  "") ;;
  -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
  *) echo "bench-slurm.sh: unknown argument $1" >&2; exit 2 ;;
esac

"$here/install-ides.sh"
eval "$("$here/slurm-up.sh")"
if [ -z "${ATELIER_BIN:-}" ]; then
  say "building atelier (release)"
  (cd "$repo" && cargo build --release -q --locked -p atelier)
  ATELIER_BIN=${CARGO_TARGET_DIR:-$repo/target}/release/atelier
fi

work=""
user=""
server_pid=""
cleanup() {
  set +e
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  if [ -n "$user" ] && id "$user" >/dev/null 2>&1; then
    # The throwaway user's Slurm jobs, then its processes.
    scancel -u "$user" 2>/dev/null
    sleep 1
    pkill -KILL -u "$user" 2>/dev/null
    sleep 0.5
    userdel -r "$user" >/dev/null 2>&1 || userdel "$user" >/dev/null 2>&1
  fi
  [ -n "$work" ] && rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

work=$(mktemp -d /tmp/atelier-bench-slurm.XXXXXX)
chmod 0755 "$work"
install -m 0755 "$ATELIER_BIN" "$work/atelier"
user=atbs$$
say "creating the throwaway user $user"
useradd --create-home --shell /bin/bash "$user"
home=$(getent passwd "$user" | cut -d: -f6)
chmod 0700 "$home"

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
config=$work/atelier.toml
cat > "$config" <<TOML
listen = "127.0.0.1:$port"
data_dir = "$work/data"
[auth]
provider = "users-file"
[sessions]
max_per_user = 500
stop_grace_secs = 3
[[profile]]
name = "standard"
memory = "1G"
[[profile]]
name = "tiny"
memory = "64M"
[[cluster]]
name = "hpc"
backend = "slurm"
slurm_conf = "$SLURM_CONF"
[[kind]]
name = "light"
label = "Light test app"
command = ["/usr/bin/perl", "-MIO::Socket::UNIX", "-e", 'my \$s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => shift, Listen => 128) or die; \$SIG{PIPE} = "IGNORE"; while (my \$c = \$s->accept) { while (my \$l = <\$c>) { last if \$l =~ /^\r?\n\$/ } print \$c "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"; close \$c }', "{socket}"]
ready_path = "/"
TOML
head -c 24 /dev/urandom | base64 | "$work/atelier" user add "$user" --password-stdin --config "$config" >/dev/null
token=$("$work/atelier" token create --user "$user" --config "$config")

say "starting atelier serve on 127.0.0.1:$port"
ATELIER_LOG=warn "$work/atelier" serve --config "$config" > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/health-check" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done

status=0
ATELIER_BENCH_TOKEN=$token /usr/bin/python3 "$here/bench-slurm.py" \
  --url "http://127.0.0.1:$port" --user "$user" --home "$home" \
  --jupyter /opt/atelier/jupyter/bin/jupyter --slurm-conf "$SLURM_CONF" \
  --results "$repo/results/slurm-$(date +%Y%m%d-%H%M%S)" "${driver_args[@]}" || status=$?
if ! kill -0 "$server_pid" 2>/dev/null; then
  say "atelier serve died; the end of its log:"
  tail -20 "$work/server.log" >&2
fi
exit "$status"
