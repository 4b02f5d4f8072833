#!/usr/bin/env bash
# Installs the IDEs Atelier launches into managed folders:
#   /opt/atelier/jupyter  a venv of Debian's Python with JupyterLab and Notebook 7
# Idempotent: an install that is already complete is left alone. Downloads are
# cached under $ATELIER_CACHE (default /var/cache/atelier).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_root

prefix=${ATELIER_IDE_PREFIX:-/opt/atelier}
jupyter=$prefix/jupyter
# Pinned so every machine runs what the tests ran.
packages=(jupyterlab==4.6.6 notebook==7.6.5 ipykernel==7.4.0)

apt_install python3 python3-venv
"$here/install-code-server.sh"  # VS Code (before the Jupyter check, which may exit early)

if [ -x "$jupyter/bin/jupyter-lab" ] && "$jupyter/bin/python" -c 'import ipykernel' 2>/dev/null \
   && [ -f "$jupyter/.atelier-complete" ] && [ "$(cat "$jupyter/.atelier-complete")" = "${packages[*]}" ]; then
  say "Jupyter already installed in $jupyter"
  exit 0
fi

say "installing JupyterLab and Notebook into $jupyter"
mkdir -p "$prefix" "$ATELIER_CACHE/pip"
rm -rf "$jupyter"
# Debian's interpreter, not pyenv's: users other than root must be able to run it.
/usr/bin/python3 -m venv "$jupyter"
PIP_CACHE_DIR=$ATELIER_CACHE/pip "$jupyter/bin/pip" install -q --disable-pip-version-check "${packages[@]}"
chmod -R a+rX "$prefix"
echo "${packages[*]}" > "$jupyter/.atelier-complete"
say "Jupyter ready: $("$jupyter/bin/jupyter-lab" --version)"
