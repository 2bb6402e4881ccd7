#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only those missing, without starting their services.
#
# As root: one `apt-get update`, then one `apt-get install` of what is missing. A policy-rc.d that answers 101
# ("action forbidden") is in place during the install, so squid, nginx, tinyproxy, prometheus and lxd do not start
# from their postinst scripts and hold ports the tests want. apt's output goes to a log file, printed on failure.
# Not root: prints what is missing and exits 0 (those tests then skip with a message), or 1 with CI=true.
set -euo pipefail

# Package -> a command that proves it is usable. dnsmasq-base: LXD runs dnsmasq on its bridges (lxd only recommends
# it, and recommends are not installed). prometheus ships promtool; systemd ships systemd-analyze. dpkg-dev, lintian
# and mmdebstrap: the package test (packaging/) builds the .deb, lints it and installs it into a clean root. gcc and
# libc6-dev (static libc): the bridge-guard tests build a small static NA tool (packages/provision/test/fixtures).
PACKAGES=(
  squid:squid nginx:nginx tinyproxy:tinyproxy wrk:wrk curl:curl wget:wget busybox-static:busybox
  iproute2:ip nftables:nft iptables:iptables lxd:lxd dnsmasq-base:dnsmasq openssl:openssl prometheus:promtool
  systemd:systemd-analyze cloud-init:cloud-init git:git python3:python3 socat:socat
  dpkg-dev:dpkg-shlibdeps lintian:lintian mmdebstrap:mmdebstrap
  gcc:gcc libc6-dev:gcc
)

log=${CUTTLE_APT_LOG:-${TMPDIR:-/tmp}/cuttle-apt.log}
missing=()
for entry in "${PACKAGES[@]}"; do
  pkg=${entry%%:*}
  if [[ $(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true) != installed ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: not root; missing Debian packages: ${missing[*]}" >&2
  if [[ ${CI:-} == true ]]; then
    echo "install-deps: CI=true needs them installed: run as root" >&2
    exit 1
  fi
  echo "install-deps: the tests that need them will skip with a message" >&2
  exit 0
fi

# Keep maintainer scripts from starting services (invoke-rc.d and deb-systemd-invoke both ask policy-rc.d).
policy=/usr/sbin/policy-rc.d
backup=
if [[ -e $policy ]]; then
  backup=$(mktemp)
  cp -p "$policy" "$backup"
fi
restore_policy() {
  if [[ -n $backup ]]; then mv -f "$backup" "$policy"; else rm -f "$policy"; fi
}
trap restore_policy EXIT
printf '#!/bin/sh\n# written by cuttle scripts/install-deps.sh for the duration of an install\nexit 101\n' >"$policy"
chmod 755 "$policy"

echo "install-deps: installing ${missing[*]} (log: $log)"
start=$SECONDS
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-q -y -o DPkg::Lock::Timeout=600 --no-install-recommends
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-unsafe-io)
if ! { apt-get -q -o DPkg::Lock::Timeout=600 update && apt-get "${apt_opts[@]}" install "${missing[@]}"; } \
  >"$log" 2>&1; then
  echo "install-deps: apt-get failed; its output:" >&2
  cat "$log" >&2
  exit 1
fi

absent=()
for entry in "${PACKAGES[@]}"; do
  command -v "${entry#*:}" >/dev/null 2>&1 || absent+=("${entry#*:} (${entry%%:*})")
done
if ((${#absent[@]} > 0)); then
  echo "install-deps: installed, yet these commands are missing: ${absent[*]}" >&2
  exit 1
fi
echo "install-deps: done in $((SECONDS - start)) s"
