#!/usr/bin/env bash
# A private LXD daemon for the provisioning tests: its own state directory ($LXD_DIR, default /tmp/cuttle-lxd),
# started in the background (no systemd needed), and a tiny busybox-static image imported once as `cuttle-bbox`.
# Installs nothing: lxd, iptables, nftables and busybox-static must already be there (iptables/nft before lxd starts).
#
#   LXD_DIR=/tmp/cuttle-lxd bash scripts/lxd-daemon.sh start   # idempotent: reuses a running daemon
#   LXD_DIR=/tmp/cuttle-lxd bash scripts/lxd-daemon.sh stop    # shuts it down and removes the directory
set -euo pipefail

export LXD_DIR="${LXD_DIR:-/tmp/cuttle-lxd}"
IMAGE_ALIAS=cuttle-bbox

die() {
  echo "lxd-daemon: $*" >&2
  exit 1
}

running() {
  [ -S "$LXD_DIR/unix.socket" ] && lxc query /1.0 >/dev/null 2>&1
}

build_image() {
  local work busybox
  busybox="$(command -v busybox || true)"
  [ -x /bin/busybox ] && busybox=/bin/busybox
  [ -n "$busybox" ] || die "busybox-static is not installed"
  file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || [ ! -x /usr/bin/file ] || die "$busybox is not static (install busybox-static)"
  work="$(mktemp -d)"
  mkdir -p "$work/rootfs"/{bin,sbin,etc,proc,sys,dev,tmp,root,run,var/log,usr/bin,usr/sbin}
  cp "$busybox" "$work/rootfs/bin/busybox"
  for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -sf /bin/busybox "$work/rootfs/bin/$applet"
  done
  cat >"$work/rootfs/etc/inittab" <<'EOF'
::sysinit:/bin/mount -t tmpfs tmpfs /tmp
::sysinit:/bin/ip link set lo up
::sysinit:/bin/ip link set eth0 up
::respawn:/bin/sleep 3600
::shutdown:/bin/true
EOF
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$work/rootfs/etc/passwd"
  printf 'root:x:0:\n' >"$work/rootfs/etc/group"
  ln -sf /bin/busybox "$work/rootfs/sbin/init"
  cat >"$work/metadata.yaml" <<EOF
architecture: $(uname -m)
creation_date: $(date +%s)
properties:
  description: busybox-static test image for cuttle
  os: busybox
EOF
  tar -C "$work" -cJf "$work/meta.tar.xz" metadata.yaml
  tar -C "$work/rootfs" -cJf "$work/rootfs.tar.xz" .
  lxc image import "$work/meta.tar.xz" "$work/rootfs.tar.xz" --alias "$IMAGE_ALIAS" >/dev/null
  rm -rf "$work"
}

start() {
  command -v lxd >/dev/null || die "lxd is not installed (apt-get install -y lxd iptables nftables busybox-static)"
  mkdir -p "$LXD_DIR"
  if ! running; then
    setsid lxd --group root --logfile "$LXD_DIR/lxd.log" </dev/null >"$LXD_DIR/lxd.out" 2>&1 &
    echo $! >"$LXD_DIR/cuttle-lxd.pid"
    lxd waitready --timeout 60 || {
      tail -20 "$LXD_DIR/lxd.log" >&2 || true
      die "the daemon did not become ready within 60 s (log: $LXD_DIR/lxd.log)"
    }
  fi
  if ! lxc image info "$IMAGE_ALIAS" >/dev/null 2>&1; then build_image; fi
  echo "lxd-daemon: ready, LXD_DIR=$LXD_DIR socket=$LXD_DIR/unix.socket image=$IMAGE_ALIAS"
}

stop() {
  if running; then
    # Leftovers from failed tests: every instance goes, so the shutdown does not wait on them.
    for c in $(lxc list --format csv -c n 2>/dev/null); do lxc delete --force "$c" >/dev/null 2>&1 || true; done
    # Bridges are host-wide interfaces: a test that died before its cleanup must not leave one behind.
    for n in $(lxc network list --format csv 2>/dev/null | awk -F, '$3 == "YES" {print $1}'); do
      for p in $(lxc profile list --format csv 2>/dev/null | cut -d, -f1); do
        [ "$p" = default ] || lxc profile delete "$p" >/dev/null 2>&1 || true
      done
      lxc profile device remove default eth0 >/dev/null 2>&1 || true
      lxc network delete "$n" >/dev/null 2>&1 || true
    done
    lxd shutdown --timeout 60 >/dev/null 2>&1 || true
  fi
  if [ -f "$LXD_DIR/cuttle-lxd.pid" ]; then
    pid="$(cat "$LXD_DIR/cuttle-lxd.pid")"
    if kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
  fi
  # LXD mounts its shmounts/devlxd/storage under LXD_DIR; unmount before removing.
  { grep " $LXD_DIR" /proc/mounts || true; } | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m" || true; done
  case "$LXD_DIR" in
  /tmp/?*) rm -rf "$LXD_DIR" ;;
  *) echo "lxd-daemon: left $LXD_DIR in place (only /tmp/* is removed)" >&2 ;;
  esac
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*)
  echo "usage: LXD_DIR=DIR $0 start|stop" >&2
  exit 2
  ;;
esac
