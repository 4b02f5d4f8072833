#!/usr/bin/env bash
# Stops the test cluster that scripts/slurm-up.sh started: cancels every job
# of every user, waits for them to end, then stops slurmd, slurmctld and
# munged by their pids, leaving no slurmstepd behind. The state folder is
# kept (job ids carry on next time); delete ${ATELIER_SLURM_DIR} to start over.
# Idempotent: a cluster that is down, or half up, is fine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_root

dir=${ATELIER_SLURM_DIR:-/var/lib/atelier-slurm}
export SLURM_CONF=$dir/slurm.conf

# pid_of NAME: the pid in $dir/run/NAME.pid if that process is alive and is NAME.
pid_of() {
  local pid
  pid=$(cat "$dir/run/$1.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] && echo "$pid"
}

# This cluster's step daemons: slurmstepd runs in slurmd's working folder,
# which slurm-up.sh sets to $dir.
stepds() {
  local pid
  for pid in $(pgrep -x slurmstepd || true); do
    [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$dir" ] && echo "$pid"
  done
  return 0
}

# tree PID: PID and all its descendants, children first.
tree() {
  local child
  for child in $(pgrep -P "$1" || true); do
    tree "$child"
  done
  echo "$1"
}

# Jobs not yet ended; empty when slurmctld does not answer.
live_jobs() {
  timeout 10 squeue -h -t PENDING,RUNNING,SUSPENDED,COMPLETING,CONFIGURING -o '%i' 2>/dev/null || true
}

# stop NAME: SIGTERM by pid, SIGKILL after 10 s.
stop() {
  local pid
  pid=$(pid_of "$1") || return 0
  say "stopping $1 ($pid)"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    [ -d "/proc/$pid" ] || return 0
    sleep 0.1
  done
  echo "slurm-down: $1 ($pid) ignored SIGTERM; killing it" >&2
  kill -9 "$pid" 2>/dev/null || true
}

if [ -f "$SLURM_CONF" ] && pid_of slurmctld >/dev/null; then
  if [ -n "$(live_jobs)" ]; then
    say "cancelling every job"
    # As root, a state filter alone matches every user's jobs; scancel takes
    # one state at a time.
    for state in PENDING RUNNING SUSPENDED; do
      scancel --state="$state" 2>/dev/null || true
    done
    for _ in $(seq 150); do
      [ -z "$(live_jobs)" ] && break
      sleep 0.2
    done
    [ -z "$(live_jobs)" ] || echo "slurm-down: jobs still not ended after 30 s: $(live_jobs | tr '\n' ' ')" >&2
  fi
fi

# Step daemons end a moment after their job is marked ended; wait for them
# while slurmd is still there to hear from them.
for _ in $(seq 50); do
  [ -z "$(stepds)" ] && break
  sleep 0.2
done

stop slurmd
stop slurmctld
stop munged

leftover=$(stepds)
if [ -n "$leftover" ]; then
  # Only if slurmctld was not answering: the jobs could not be cancelled.
  # Kill each step daemon with the job processes under it.
  echo "slurm-down: killing leftover slurmstepd $(echo "$leftover" | tr '\n' ' ')" >&2
  for pid in $leftover; do
    for p in $(tree "$pid"); do
      kill -9 "$p" 2>/dev/null || true
    done
  done
fi
say "Slurm stopped"
