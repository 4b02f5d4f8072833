# Shared helpers for Atelier's scripts: logging, apt installs done once.
# Sourced, not run.

ATELIER_CACHE=${ATELIER_CACHE:-/var/cache/atelier}

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# apt_install PKG...: installs the packages that are missing, with one
# `apt-get update` per run at most.
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  if [ -z "${ATELIER_APT_UPDATED:-}" ]; then
    apt-get update -qq
    export ATELIER_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "$0 must run as root (it installs packages and runs sessions as other users)" >&2
    exit 1
  fi
}
