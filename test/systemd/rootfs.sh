#!/usr/bin/env bash
# Builds (once) the Debian 12 root file system the live-systemd test boots with systemd-nspawn,
# in a cache outside the clone. Uses the machine's own configured Debian mirror, so it works
# where only the Debian registry is reachable. Prints the root file system's path.
set -euo pipefail
cache="${POS_SYNC_CI_CACHE:-/var/cache/pos-sync-ci}"
root="$cache/rootfs-bookworm"
# Bump when the package list changes: an old cache is then rebuilt instead of silently reused.
stamp="v1"
if [ -f "$root/.pos-sync-rootfs-$stamp" ]; then
  echo "$root"
  exit 0
fi
mirror="$(
  { cat /etc/apt/sources.list 2>/dev/null; cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null; } |
    awk '/^URIs:/ && $2 !~ /security/ {print $2; exit} /^deb / && $2 !~ /security/ {print $2; exit}' || true
)"
mirror="${mirror:-http://deb.debian.org/debian}"
rm -rf "$root.tmp"
mkdir -p "$cache"
# systemd-sysv: systemd as pid 1; dbus: systemctl talks to it like on a store machine;
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,passwd,ca-certificates \
  bookworm "$root.tmp" "$mirror" >&2
# No getty on the console, no network setup: the container shares the host's network.
rm -f "$root.tmp/etc/systemd/system/getty.target.wants/"* 2>/dev/null || true
echo pos-store > "$root.tmp/etc/hostname"
touch "$root.tmp/.pos-sync-rootfs-$stamp"
rm -rf "$root"
mv "$root.tmp" "$root"
echo "$root"
