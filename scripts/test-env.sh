#!/usr/bin/env bash
# Prepares this machine for Atelier's test suite: system packages, the IDEs,
# the PAM service, and a running PostgreSQL. Safe to run again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_root

apt_install libpam0g-dev pamtester python3-venv postgresql procps
"$here/install-ides.sh"
"$here/install-languages.sh"
"$here/slurm-up.sh" >/dev/null   # the single-node Slurm of the Slurm tests

if [ ! -f /etc/pam.d/atelier ]; then
  say "writing /etc/pam.d/atelier"
  cat > /etc/pam.d/atelier <<'PAM'
# Atelier's logins: local accounts, no delay after a wrong password
# (Atelier rate-limits logins itself).
auth     required pam_unix.so nodelay
account  required pam_unix.so
PAM
fi

# PostgreSQL for the store tests: use the one running on 127.0.0.1:5432, or
# start the machine's cluster (there is no systemd here).
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  say "starting PostgreSQL"
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    pg_createcluster "$(ls /usr/lib/postgresql | sort -V | tail -1)" main >/dev/null
  fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
  for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
  # A fresh cluster asks for passwords on TCP: let local test connections in.
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf | tail -1)
  sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main reload
fi
say "test environment ready"
