#!/usr/bin/env bash
# Sets up Atelier on this machine and runs it in the foreground:
# system packages, JupyterLab and Notebook in /opt/atelier, the atelier binary
# in /usr/local/bin, the PAM service, /etc/atelier/atelier.toml, and a first
# Linux user who is an Atelier administrator. Run again at any time: each
# step that is already done is skipped.
#
# Environment: ATELIER_USER (default "atelier"), ATELIER_PASSWORD (default: a
# new random one, printed), ATELIER_LISTEN (default 127.0.0.1:8787).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_root

user=${ATELIER_USER:-atelier}
listen=${ATELIER_LISTEN:-127.0.0.1:8787}

apt_install libpam0g-dev python3-venv pkg-config
"$here/install-ides.sh"
"$here/install-languages.sh"

say "building atelier (release)"
(cd "$here/.." && CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ATELIER_CACHE/target} cargo build --release --locked -p atelier)
install -m 0755 "${CARGO_TARGET_DIR:-$ATELIER_CACHE/target}/release/atelier" /usr/local/bin/atelier

if [ ! -f /etc/pam.d/atelier ]; then
  printf 'auth     required pam_unix.so nodelay\naccount  required pam_unix.so\n' > /etc/pam.d/atelier
fi

password_note="(unchanged; set ATELIER_PASSWORD to change it)"
if ! id "$user" >/dev/null 2>&1; then
  say "creating the first user: $user"
  useradd -m -s /bin/bash "$user"
  chmod 0700 "$(getent passwd "$user" | cut -d: -f6)"
  password=${ATELIER_PASSWORD:-$(head -c 12 /dev/urandom | base64 | tr -d '/+=')}
  echo "$user:$password" | chpasswd
  password_note=$password
elif [ -n "${ATELIER_PASSWORD:-}" ]; then
  echo "$user:$ATELIER_PASSWORD" | chpasswd
  password_note=$ATELIER_PASSWORD
fi

mkdir -p /etc/atelier
if [ ! -f /etc/atelier/atelier.toml ]; then
  cat > /etc/atelier/atelier.toml <<TOML
# Atelier's configuration; every key is documented in README.md.
listen = "$listen"
data_dir = "/var/lib/atelier"

[auth]
provider = "pam"
admins = ["$user"]
TOML
fi
atelier config check --config /etc/atelier/atelier.toml

cat <<MSG

  Atelier is starting on http://$listen/
  Log in as:   $user
  Password:    $password_note

  Stop it with Ctrl-C; sessions keep running and are picked up again on the next start.

MSG
exec atelier serve --config /etc/atelier/atelier.toml
