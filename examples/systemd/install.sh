#!/bin/sh
# Sets pos-sync up on a store machine once the Debian package is installed (the man page, FILES,
# and README's "Running it under systemd" show this script; the live-systemd test runs it as it
# stands). Run as root:
#
#   install.sh [--till NAME] [--metrics] CONFIG.json TOKEN-FILE
#
# CONFIG.json becomes /etc/pos-sync/appsettings.json (with --till NAME: /etc/pos-sync/NAME.json,
# for pos-sync@NAME); TOKEN-FILE ("-": standard input) becomes /etc/pos-sync/api-token (with --till
# NAME: /etc/pos-sync/NAME.api-token, that till's own, loaded by pos-sync@NAME.service; the shared
# one is never touched), root's only, which systemd hands to the service as a credential.
# Sync.TillId is written into the configuration when it has none: the --till name, else this
# machine's host name. --metrics adds the drop-in that writes node_exporter's textfile (only where
# node_exporter's folder exists). Then the timers start.
#
# It refuses, before installing or enabling anything, what would leave a unit failing every 10 s:
# a configuration pos-sync itself finds invalid (`pos-sync config --check`), a database folder that
# does not exist or is not under /var/lib/pos (the only folder the units may write), a folder or
# database the group pos cannot write or a folder without the setgid bit (the POS application
# and pos-sync share the database and its -wal/-shm/-journal files through that group), an empty
# token. An example configuration: /usr/share/doc/pos-sync/examples/appsettings.json.
# Running it again replaces the files and changes nothing else.
set -eu

usage() {
  echo "usage: $0 [--till NAME] [--metrics] CONFIG.json TOKEN-FILE|-" >&2
  exit 64
}
refuse() {
  echo "install.sh: $1" >&2
  echo "install.sh: nothing was installed or enabled" >&2
  exit "${2:-78}"
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
  appsettings|api-token) echo "$0: --till $till: that name is taken by the shared files" >&2; exit 64 ;;
  *[!A-Za-z0-9_-]*) echo "$0: --till takes letters, digits, - and _ only: $till" >&2; exit 64 ;;
esac
here="$(cd "$(dirname "$0")" && pwd)"
pos_sync="${POS_SYNC_BIN:-/usr/bin/pos-sync}"
# The package's own Node reads JSON here (the machine may have none).
node="$here/node"
[ -x "$node" ] || node="$(command -v node || true)"
[ -n "$node" ] || refuse "no Node.js to read $config with (the package ships $here/node)" 69
# The service's working directory is /: a relative Database.ConnectionString is resolved from there.
cd /

# 1. The configuration, as pos-sync reads it: exit 0 or pos-sync's one-line error.
[ -f "$config" ] || refuse "$config does not exist or is not a file" 66
if ! "$pos_sync" --config "$config" config --check >/dev/null; then
  refuse "$config is not a valid configuration (the line above says why): fix it and run install.sh again"
fi

# 2. The database's folder: it exists, under /var/lib/pos (ReadWritePaths= of the units; a missing
# folder fails the unit with 226/NAMESPACE), and the group pos writes it with the setgid bit, so
# every file created beside the database belongs to the group.
db="$("$pos_sync" --config "$config" --json config | "$node" -e '
  let s = ""; process.stdin.setEncoding("utf8").on("data", (d) => (s += d)).on("end", () => {
    const row = JSON.parse(s).settings.find((r) => r.key === "Database.Path");
    if (!row || typeof row.value !== "string") process.exit(1);
    process.stdout.write(row.value);
  });')" || refuse "could not read Database.Path from $config"
folder="$(dirname "$db")"
case "$folder/" in
  /var/lib/pos/*) ;;
  *) refuse "the database $db is not under /var/lib/pos, the only folder the units may write: move it there, or add a drop-in with ReadWritePaths=$folder" ;;
esac
[ -d "$folder" ] || refuse "the database folder $folder does not exist: create it as the POS application has it (install -d -g pos -m 2775 $folder), then run install.sh again"
getent group pos >/dev/null || groupadd --system pos
[ "$(stat -c %G "$folder")" = pos ] || refuse "the database folder $folder belongs to group $(stat -c %G "$folder"), not pos: chgrp pos $folder && chmod 2775 $folder"
mode="$(stat -c %A "$folder")"
case "$mode" in
  ????rws???) ;;
  *) refuse "the database folder $folder is $mode: the group pos must write it and new files must get its group (setgid): chmod g+rwxs $folder" ;;
esac
for f in "$db" "$db-wal" "$db-shm" "$db-journal"; do
  [ -e "$f" ] || continue
  [ "$(stat -c %G "$f")" = pos ] || refuse "$f belongs to group $(stat -c %G "$f"), not pos: chgrp pos $f"
  case "$(stat -c %A "$f")" in ????rw????) ;; *) refuse "$f is $(stat -c %A "$f"): the group pos must read and write it: chmod g+rw $f" ;; esac
done

# 3. The token: something to hand over.
tmpfiles=''
trap 'rm -f $tmpfiles' EXIT
if [ "$token" = - ]; then
  tokenfile="$(mktemp)"
  tmpfiles="$tokenfile"
  cat > "$tokenfile"
else
  tokenfile="$token"
fi
[ -s "$tokenfile" ] || refuse "the token ($token) is empty or missing" 66

# 4. This till's name in its configuration (Sync.TillId), unless it already has one.
staged="$(mktemp --suffix=.json)"
tmpfiles="$tmpfiles $staged"
tillid="${till:-$(hostname)}"
"$node" -e '
  const fs = require("node:fs");
  const [from, to, tillId] = process.argv.slice(1);
  const conf = JSON.parse(fs.readFileSync(from, "utf8").replace(/^\uFEFF/, ""));
  const key = Object.keys(conf).find((k) => k.toLowerCase() === "sync") ?? "Sync";
  const sync = (conf[key] ??= {});
  const has = Object.keys(sync).find((k) => k.toLowerCase() === "tillid");
  if (has === undefined || sync[has] === null || sync[has] === "") sync[has ?? "TillId"] = tillId;
  else console.error(`install.sh: Sync.TillId stays ${JSON.stringify(sync[has])} (the configuration names it)`);
  fs.writeFileSync(to, JSON.stringify(conf, null, 2) + "\n");
' "$config" "$staged" "$tillid"
"$pos_sync" --config "$staged" config --check >/dev/null || refuse "$config with Sync.TillId = $tillid is not valid (the line above says why)"

# The user and group: the package's postinst made them; done again (idempotent) for a machine
# that got pos-sync some other way. The group is the POS application's "pos", the user's primary
# group: there is no group "pos-sync".
getent passwd pos-sync >/dev/null ||
  useradd --system --gid pos --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin pos-sync

# The configuration is readable by the service's group, the tokens by root only.
install -d -m 0750 -o root -g pos /etc/pos-sync
if [ -n "$till" ]; then
  install -m 0640 -o root -g pos "$staged" "/etc/pos-sync/$till.json"
  install -m 0600 -o root -g root "$tokenfile" "/etc/pos-sync/$till.api-token"
  unit="pos-sync@$till"
  cleanup="pos-sync-cleanup@$till"
else
  install -m 0640 -o root -g pos "$staged" /etc/pos-sync/appsettings.json
  install -m 0600 -o root -g root "$tokenfile" /etc/pos-sync/api-token
  unit=pos-sync
  cleanup=pos-sync-cleanup
fi

if [ "$metrics" = yes ]; then
  install -d "/etc/systemd/system/$unit.service.d"
  install -m 0644 "$here/metrics.conf" "/etc/systemd/system/$unit.service.d/metrics.conf"
fi

systemctl daemon-reload
systemctl enable --now "$unit.timer" "$cleanup.timer"
echo "pos-sync: $unit.timer started (Sync.TillId $tillid); follow it with: journalctl -u $unit.service -f"
