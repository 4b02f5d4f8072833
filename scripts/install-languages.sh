#!/usr/bin/env bash
# Installs the Python and R versions sessions can pick, beside Debian's Python 3.11:
#   /opt/python/<X.Y>  a copy of pyenv's CPython 3.12 (or, without one, another
#                      pyenv 3.x that is not 3.11) with ipykernel, runnable by every user
#   R 4.2 and IRkernel from Debian (r-base-core, r-cran-irkernel)
# Debian's /usr/bin/python3.11 is left as it is: without ipykernel, Atelier lists
# it as a version whose Jupyter kernel is missing, with the reason.
# Idempotent: a complete install is left alone. Downloads are cached under
# $ATELIER_CACHE (default /var/cache/atelier).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_root

pyenv_versions=${PYENV_ROOT:-/root/.pyenv}/versions
python_prefix=${ATELIER_PYTHON_PREFIX:-/opt/python}

apt_install patchelf r-base-core r-cran-irkernel

# The pyenv version to copy: 3.12 if there is one, else the newest other 3.x
# except 3.11 (Debian already has 3.11).
pick_python() {
  local all
  all=$(ls "$pyenv_versions" 2>/dev/null | grep -E '^3\.[0-9]+\.[0-9]+$' | sort -V || true)
  local pick
  pick=$(grep -E '^3\.12\.' <<<"$all" | tail -1 || true)
  [ -n "$pick" ] || pick=$(grep -vE '^3\.11\.' <<<"$all" | tail -1 || true)
  echo "$pick"
}

source_version=$(pick_python)
if [ -z "$source_version" ]; then
  echo "no pyenv CPython 3.x other than 3.11 under $pyenv_versions; cannot install a second Python" >&2
  exit 1
fi
minor=${source_version%.*}
[ "$minor" = 3.12 ] || say "pyenv has no 3.12; using pyenv's $source_version instead"
target=$python_prefix/$minor
# Pinned like scripts/install-ides.sh; older Pythons get the newest ipykernel they support.
if [ "${minor#3.}" -ge 10 ]; then kernel_pkg=ipykernel==7.4.0; else kernel_pkg=ipykernel; fi
marker="$source_version $kernel_pkg"

if [ -f "$target/.atelier-complete" ] && [ "$(cat "$target/.atelier-complete")" = "$marker" ] \
   && runuser -u nobody -- env -i "$target/bin/python3" -c 'import ipykernel' 2>/dev/null; then
  say "Python $source_version already installed in $target"
else
  say "copying pyenv's Python $source_version to $target"
  mkdir -p "$python_prefix"
  rm -rf "$target" "$target.partial"
  cp -a "$pyenv_versions/$source_version" "$target.partial"
  # The interpreter looks for libpython in pyenv's folder under /root (mode
  # 0700): point it at its own lib folder instead.
  patchelf --set-rpath '$ORIGIN/../lib' "$target.partial/bin/python$minor"
  # Scripts copied from pyenv name pyenv's interpreter on their #! line.
  { grep -rlI "^#!$pyenv_versions/$source_version/" "$target.partial/bin" || true; } \
    | xargs -r sed -i "1s|^#!$pyenv_versions/$source_version/|#!$target/|"
  mv "$target.partial" "$target"
  mkdir -p "$ATELIER_CACHE/pip"
  say "installing $kernel_pkg into $target"
  PIP_CACHE_DIR=$ATELIER_CACHE/pip "$target/bin/python3" -m pip install -q \
    --disable-pip-version-check --no-warn-script-location --root-user-action=ignore "$kernel_pkg"
  chmod -R a+rX "$target"
  chmod a+rx "$python_prefix"
  echo "$marker" > "$target/.atelier-complete"
fi

# What users get, checked as a user with a clean environment: root can run
# things nobody else can.
as_user() { runuser -u nobody -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/nonexistent "$@"; }
as_user "$target/bin/python3" -c 'import ipykernel' \
  || { echo "$target/bin/python3 cannot import ipykernel as a user" >&2; exit 1; }
say "Python ready: $(as_user "$target/bin/python3" --version) in $target"
as_user /usr/bin/R --slave --no-restore --no-save -e 'invisible(IRkernel::main)' \
  || { echo "Debian's R cannot load IRkernel as a user" >&2; exit 1; }
say "R ready: $(as_user /usr/bin/R --version | head -1) with IRkernel"
