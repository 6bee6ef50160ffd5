#!/bin/sh
# Sets pos-sync up on a store machine once the Debian package is installed (README.md, "Running it
# under systemd", shows this script; the live-systemd test runs it as it stands). Run as root:
#
#   install.sh [--till NAME] [--metrics] CONFIG.json TOKEN-FILE
#
# CONFIG.json becomes /etc/pos-sync/appsettings.json (with --till NAME: /etc/pos-sync/NAME.json,
# for pos-sync@NAME); TOKEN-FILE ("-": standard input) becomes /etc/pos-sync/api-token, root's
# only, which systemd hands to the service as a credential. --metrics adds the drop-in that writes
# node_exporter's textfile (only where node_exporter's folder exists). Then the timers start.
# Running it again replaces the files and changes nothing else.
set -eu

usage() {
  echo "usage: $0 [--till NAME] [--metrics] CONFIG.json TOKEN-FILE|-" >&2
  exit 64
}

till=''
metrics=no
while [ $# -gt 0 ]; do
  case "$1" in
    --till) [ $# -ge 2 ] || usage; till="$2"; shift 2 ;;
    --metrics) metrics=yes; shift ;;
    --) shift; break ;;
    -*) usage ;;
    *) break ;;
  esac
done
[ $# -eq 2 ] || usage
config="$1"
token="$2"
case "$till" in
  '') ;;
  *[!A-Za-z0-9_-]*) echo "$0: --till takes letters, digits, - and _ only: $till" >&2; exit 64 ;;
esac
here="$(dirname "$0")"

# The user and group: the package's postinst made them; done again (idempotent) for a machine
# that got pos-sync some other way. The group is the POS application's "pos", the user's primary
# group: there is no group "pos-sync".
getent group pos >/dev/null || groupadd --system pos
getent passwd pos-sync >/dev/null ||
  useradd --system --gid pos --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin pos-sync

# The configuration is readable by the service's group, the token by root only.
install -d -m 0750 -o root -g pos /etc/pos-sync
if [ -n "$till" ]; then
  install -m 0640 -o root -g pos "$config" "/etc/pos-sync/$till.json"
  unit="pos-sync@$till"
  cleanup="pos-sync-cleanup@$till"
else
  install -m 0640 -o root -g pos "$config" /etc/pos-sync/appsettings.json
  unit=pos-sync
  cleanup=pos-sync-cleanup
fi
if [ "$token" = - ]; then
  install -m 0600 -o root -g root /dev/stdin /etc/pos-sync/api-token
else
  install -m 0600 -o root -g root "$token" /etc/pos-sync/api-token
fi

if [ "$metrics" = yes ]; then
  install -d "/etc/systemd/system/$unit.service.d"
  install -m 0644 "$here/metrics.conf" "/etc/systemd/system/$unit.service.d/metrics.conf"
fi

systemctl daemon-reload
systemctl enable --now "$unit.timer" "$cleanup.timer"
echo "pos-sync: $unit.timer started; follow it with: journalctl -u $unit.service -f"
