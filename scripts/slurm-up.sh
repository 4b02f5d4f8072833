#!/usr/bin/env bash
# Starts a single-node Slurm 22.05 cluster (Debian's packages) for Atelier's
# tests: munged, slurmctld and slurmd, all running as root, with the config,
# state, spool, logs, pid files and the munge key and socket under one folder,
# ${ATELIER_SLURM_DIR:-/var/lib/atelier-slurm} (nothing in /etc/slurm).
#
# Partitions: `debug` (default, 1 hour), `long` (7 days) and `shared` (cores
# shared by up to 128 jobs, for benchmarks), all on this node.
# Clients need SLURM_CONF: the last line printed is `export SLURM_CONF=...`, and
# the same line is kept in $ATELIER_SLURM_DIR/env for later shells:
#   eval "$(scripts/slurm-up.sh)"      or     . /var/lib/atelier-slurm/env
# Idempotent: a healthy cluster is left alone, a half-started one is restarted,
# a node left DOWN or DRAINED is resumed. Stop it with scripts/slurm-down.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_root

dir=${ATELIER_SLURM_DIR:-/var/lib/atelier-slurm}
conf=$dir/slurm.conf
node=$(hostname -s)
wait_secs=${ATELIER_SLURM_WAIT:-60}
export SLURM_CONF=$conf

apt_install slurmctld slurmd slurm-client munge

# pid_of NAME: the pid in $dir/run/NAME.pid if that process is alive and is
# NAME (a stale file may name a pid reused by something else).
pid_of() {
  local pid
  pid=$(cat "$dir/run/$1.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] && echo "$pid"
}

# node_state: sinfo's long state name for this node ("idle", "down*", ...),
# empty if slurmctld does not answer.
node_state() {
  timeout 10 sinfo -h -N -n "$node" -o '%T' 2>/dev/null | head -1 || true
}

usable() {
  case "$(node_state)" in
    idle | mixed | allocated | completing) return 0 ;;
    *) return 1 ;;
  esac
}

# The main scheduler thread starts about 3 s after slurmctld; a job
# submitted before its first cycle waits for it. sdiag counts the cycles.
scheduler_started() {
  timeout 10 sdiag 2>/dev/null |
    awk '/^Main schedule/ { m = 1 } m && /Total cycles:/ { exit !($3 > 0) } END { if (!m) exit 1 }'
}

all_running() {
  pid_of munged >/dev/null && pid_of slurmctld >/dev/null && pid_of slurmd >/dev/null
}

print_env() {
  echo "export SLURM_CONF=$conf"
}

# stop NAME: SIGTERM by pid, SIGKILL after 10 s.
stop() {
  local pid
  pid=$(pid_of "$1") || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    [ -d "/proc/$pid" ] || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

fail() {
  echo "slurm-up: $*" >&2
  for log in munged slurmctld slurmd; do
    echo "--- tail of $dir/log/$log.log" >&2
    tail -n 20 "$dir/log/$log.log" >&2 2>/dev/null || true
  done
  exit 1
}

if all_running && usable; then
  print_env
  exit 0
fi

if all_running; then
  # Up but the node is down or drained (e.g. after slurmd restarted with
  # jobs on it, or a failed health check): give it back to the scheduler.
  state=$(node_state)
  if [ -n "$state" ]; then
    say "node $node is $state: resuming it"
    scontrol update nodename="$node" state=resume 2>/dev/null || true
  fi
else
  # Half up (or not at all): restart everything from a known state. Jobs in
  # the state folder survive a restart.
  say "starting Slurm in $dir"
  stop slurmd
  stop slurmctld
  stop munged

  # The munge socket folder (and every folder above it) must be traversable
  # by every user, or their sbatch/squeue cannot authenticate.
  mkdir -p "$dir"/{munge,state,spool,log,run}
  chmod 0755 "$dir" "$dir/munge" "$dir/run"
  # Logs name every user's jobs and folders (Slurm makes jobcomp.log 0644):
  # only root, i.e. Atelier, reads them.
  chmod 0700 "$dir/log" "$dir/state" "$dir/spool"
  up=$dir
  while up=$(dirname "$up") && [ "$up" != / ]; do
    [ -n "$(find "$up" -maxdepth 0 -perm -o+x)" ] ||
      say "warning: $up is not world-executable: users' Slurm commands will fail"
  done
  if [ ! -s "$dir/munge/munge.key" ]; then
    mungekey --create --keyfile="$dir/munge/munge.key" --force
  fi
  chmod 0600 "$dir/munge/munge.key"

  mem_mb=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
  # Leave room for the OS: slurmd marks the node invalid if RealMemory is
  # more than it finds.
  real_mb=$((mem_mb * 9 / 10))
  cpus=$(nproc)
  : > "$dir/plugstack.conf"
  cat > "$conf" <<CONF
# Written by scripts/slurm-up.sh; rewritten on every (re)start.
ClusterName=atelier
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket.2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
PlugStackConfig=$dir/plugstack.conf
MailProg=/bin/true
MpiDefault=none
# A node that was DOWN comes back by itself once slurmd registers.
ReturnToService=2
# No systemd and cgroup v1 here: track processes by parentage.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without a default a job that gives no --mem takes the whole node's memory
# and the next job waits (Reason=Resources); 1 GB per CPU lets jobs share.
DefMemPerCPU=1024
# Start a job as soon as it is submitted (0.8 s instead of 1.5-1.8 s).
SchedulerParameters=batch_sched_delay=0
# --mem is enforced by polling (no cgroups): jobacct_gather/linux supports
# OverMemoryKill; poll every 2 s so an overrun is killed quickly.
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=2
JobAcctGatherParams=OverMemoryKill
# No slurmdbd: ended jobs are read back from this file (sacct -c).
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.log
# Ended jobs stay in squeue for 5 minutes (the default, relied upon).
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$real_mb State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=01:00:00 State=UP
PartitionName=long Nodes=$node Default=NO MaxTime=7-00:00:00 State=UP
# Many small sessions at once (benchmarks): cores are shared by up to 128
# jobs; memory is still accounted per job.
PartitionName=shared Nodes=$node Default=NO MaxTime=1-00:00:00 OverSubscribe=FORCE:128 State=UP
CONF
  chmod 0644 "$conf"

  started=$(date +%s.%N)
  # Started from $dir: slurmstepd inherits slurmd's working folder, which is
  # how slurm-down.sh tells this cluster's step daemons from any other.
  cd "$dir"
  setsid munged --foreground --force \
    --socket="$dir/munge/munge.socket.2" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/run/munged.pid" --seed-file="$dir/munge/munged.seed" \
    --log-file="$dir/log/munged.log" </dev/null >>"$dir/log/munged.log" 2>&1 &
  for _ in $(seq 50); do
    [ -S "$dir/munge/munge.socket.2" ] && break
    sleep 0.1
  done
  [ -S "$dir/munge/munge.socket.2" ] || fail "munged did not create its socket"
  # The socket itself must be usable by every user.
  chmod 0777 "$dir/munge/munge.socket.2"

  # setsid: the daemons must outlive the shell that started them.
  setsid slurmctld -D -f "$conf" </dev/null >>"$dir/log/slurmctld.out" 2>&1 &
  setsid slurmd -D -f "$conf" -N "$node" </dev/null >>"$dir/log/slurmd.out" 2>&1 &
fi

echo "export SLURM_CONF=$conf" > "$dir/env"
chmod 0644 "$dir/env"

for _ in $(seq "$((wait_secs * 5))"); do
  if usable && { [ -z "${started:-}" ] || scheduler_started; }; then
    [ -z "${started:-}" ] || say "Slurm up in $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"
    print_env
    exit 0
  fi
  # A node slurmd registered as DOWN (e.g. it rebooted with jobs) needs a resume.
  case "$(node_state)" in
    down* | drain* | drained* | fail*)
      scontrol update nodename="$node" state=resume 2>/dev/null || true
      ;;
  esac
  sleep 0.2
done
fail "node $node not usable after ${wait_secs} s (sinfo says: '$(node_state)')"
