#!/usr/bin/env bash
# `npm run package`: builds dist/pos-sync_<version>_amd64.deb, an artifact a till with no
# compiler and no internet installs with `apt install ./pos-sync_<version>_amd64.deb`. It holds:
#   /usr/lib/pos-sync/node                 Node 24 (the project's own, node_modules/node): store
#                                          machines have Node 20 or none
#   /usr/lib/pos-sync/bin/pos-sync         the starter, which /usr/bin/pos-sync runs with that node
#   /usr/lib/pos-sync/dist/src/            the bundled CLI, the idle fast path's bundle, Node's compile
#                                          cache of both, and the compiled modules the bundle starts
#                                          by path (health's database worker): the list comes from
#                                          the build (examples/debian/runtime-files.ts)
#   /usr/lib/pos-sync/node_modules/        what the bundle leaves out: better-sqlite3 with its
#                                          N-API prebuild for linux-x64 (nothing compiled), kafkajs,
#                                          cosmiconfig and their dependencies
#   /usr/lib/pos-sync/install.sh, metrics.conf   README's install script and the metrics drop-in
#   /usr/share/doc/pos-sync/examples/appsettings.json   a commented example configuration (not a
#                                          conffile in /etc: pos-sync reads /etc/pos-sync/appsettings.json
#                                          when nothing else names one, and a placeholder there
#                                          would describe a database that is not the till's)
#   /lib/systemd/system/                   the units of examples/systemd
#   /usr/share/man/man1/pos-sync.1.gz
# postinst makes the pos-sync system user in the group pos. Run after `npm run build`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
umask 022

version="$(node -p 'require("./package.json").version')"
arch=amd64
[ "$(node -p process.arch)" = x64 ] || { echo "build-deb: only linux-x64 (amd64) is packaged" >&2; exit 1; }
node_bin=node_modules/node/bin/node
# Node's compile cache of the bundle (bin/pos-sync enables it; warm-up.js fills it at build time).
cache=dist/src/cli/compile-cache
[ -d "$cache" ] || { echo "build-deb: $cache is missing: run npm run build first" >&2; exit 1; }
for f in dist/src/cli/pos-sync.cjs dist/src/cli/idle.cjs dist/src/cli/pos-sync.cjs.LEGAL.txt "$node_bin" node_modules/better-sqlite3/prebuilds/linux-x64.node; do
  [ -f "$f" ] || { echo "build-deb: $f is missing: run npm ci and npm run build first" >&2; exit 1; }
done
# The bundle must be what `npm run build` made from the current modules, not an old one.
if [ dist/src/main.js -nt dist/src/cli/pos-sync.cjs ]; then
  echo "build-deb: dist/src/cli/pos-sync.cjs is older than dist/src/main.js: run npm run build" >&2
  exit 1
fi

# One version: package.json's. The CLI reports it (src/version.ts, written by `npm version`).
reported="$("$node_bin" bin/pos-sync --version)"
if [ "$reported" != "$version" ]; then
  echo "build-deb: pos-sync --version says $reported, package.json says $version: run bash examples/debian/stamp-version.sh and npm run build" >&2
  exit 1
fi
if ! grep -q "^\.TH POS-SYNC 1 [^ ]* \"pos-sync $version\"" man/pos-sync.1; then
  echo "build-deb: man/pos-sync.1's .TH line does not name pos-sync $version: run bash examples/debian/stamp-version.sh" >&2
  exit 1
fi

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
lib="$root/usr/lib/pos-sync"
mkdir -p "$lib/bin" "$lib/dist/src/cli" "$lib/node_modules" "$root/usr/bin" "$root/lib/systemd/system" \
  "$root/usr/share/man/man1" "$root/usr/share/doc/pos-sync" "$root/usr/share/lintian/overrides" "$root/DEBIAN"

# Node, without its debug information (121 MB → about 100 MB; nothing here reads it).
install -m 0755 "$node_bin" "$lib/node"
strip --strip-unneeded "$lib/node"

# The starter, run by the packaged node whatever node the machine has on its PATH: /usr/bin/pos-sync
# is a two-line shell script (a private interpreter in a #! line is what Debian policy forbids).
# Without its #! line: it is not run directly, but by the shell script below.
sed '1{/^#!/d}' bin/pos-sync > "$lib/bin/pos-sync"
install -m 0644 bin/package.json "$lib/bin/"
chmod 0644 "$lib/bin/pos-sync"
printf '#!/bin/sh\n# pos-sync with the Node.js it was tested with (Debian package pos-sync).\nexec /usr/lib/pos-sync/node --max-semi-space-size=4 /usr/lib/pos-sync/bin/pos-sync "$@"\n' > "$root/usr/bin/pos-sync"
chmod 0755 "$root/usr/bin/pos-sync"
# The runtime files and modules, from the build (examples/debian/runtime-files.ts): the bundle and
# what it loads by path at run time (health's database worker and the compiled modules it imports),
# the packages the bundle keeps external and better-sqlite3, with their dependencies.
mapfile -t listed < <(node dist/examples/debian/runtime-files.js)
files=()
modules=()
for line in "${listed[@]}"; do
  case "$line" in
    'file '*) files+=("${line#file }") ;;
    'module '*) modules+=("${line#module }") ;;
    *) echo "build-deb: unexpected line from runtime-files.js: $line" >&2; exit 1 ;;
  esac
done
# Node's compile cache of both bundles, filled at build time (src/cli/warm-up.ts).
cp -r --no-preserve=ownership "$cache" "$lib/dist/src/cli/" && chmod -R u=rwX,go=rX "$lib/dist/src/cli/compile-cache"
# A failure inside the process substitution above would pass unnoticed: check what it listed.
[[ " ${files[*]} " == *" dist/src/cli/pos-sync.cjs "* && " ${files[*]} " == *" dist/src/store/inspect.js "* ]] || { echo "build-deb: could not list the runtime files" >&2; exit 1; }
[[ " ${modules[*]} " == *" kafkajs "* && " ${modules[*]} " == *" cosmiconfig "* && " ${modules[*]} " == *" better-sqlite3 "* ]] || { echo "build-deb: could not list the runtime modules" >&2; exit 1; }
for f in "${files[@]}"; do
  install -D -m 0644 "$f" "$lib/$f"
done
# The compiled modules beside the bundle are ES modules, as package.json's "type" makes them in the
# checkout; /usr/lib/pos-sync has no package.json of its own. (The bundle is .cjs: unaffected.)
printf '{\n  "type": "module"\n}\n' > "$lib/dist/src/package.json"
chmod 0644 "$lib/dist/src/package.json"

for m in "${modules[@]}"; do
  if [ "$m" = better-sqlite3 ]; then
    # Only what loads the addon: its JavaScript and the linux-x64 prebuild, not its C++ sources,
    # the SQLite amalgamation or the other platforms' binaries.
    mkdir -p "$lib/node_modules/better-sqlite3/prebuilds"
    cp -R node_modules/better-sqlite3/package.json node_modules/better-sqlite3/LICENSE node_modules/better-sqlite3/lib "$lib/node_modules/better-sqlite3/"
    install -m 0644 node_modules/better-sqlite3/prebuilds/linux-x64.node "$lib/node_modules/better-sqlite3/prebuilds/"
    strip --strip-unneeded "$lib/node_modules/better-sqlite3/prebuilds/linux-x64.node"
  else
    mkdir -p "$lib/node_modules/$(dirname "$m")"
    cp -R "node_modules/$m" "$lib/node_modules/$m"
  fi
done
# Documentation, type declarations and the modules' own command-line tools (js-yaml's) serve
# nobody on a till.
find "$lib/node_modules" \( -name '*.md' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' -o -name '.*' \) -type f -delete
grep -rlZ '^#!' "$lib/node_modules" | xargs -0 -r rm -f

install -m 0755 examples/systemd/install.sh "$lib/install.sh"
install -m 0644 examples/systemd/metrics.conf "$lib/metrics.conf"
install -m 0644 examples/systemd/*.service examples/systemd/*.timer "$root/lib/systemd/system/"
gzip -9n < man/pos-sync.1 > "$root/usr/share/man/man1/pos-sync.1.gz"
install -d "$root/usr/share/man/man7"
for page in man/pos-sync-*.7; do gzip -9n < "$page" > "$root/usr/share/man/man7/$(basename "$page").gz"; done
install -d "$root/usr/share/doc/pos-sync/examples"
install -m 0644 examples/systemd/appsettings.json "$root/usr/share/doc/pos-sync/examples/"
install -d "$root/usr/share/doc/pos-sync/schemas"
install -m 0644 man/schemas/*.schema.json "$root/usr/share/doc/pos-sync/schemas/"

date="$(git log -1 --format=%cD 2>/dev/null || date -R)"
cat > "$stage/changelog" <<CHANGELOG
pos-sync ($version) stable; urgency=medium

  * Release $version, built from git $(git rev-parse --short HEAD 2>/dev/null || echo unknown).

 -- pos-sync maintainers <pos-sync@example.org>  $date
CHANGELOG
gzip -9n < "$stage/changelog" > "$root/usr/share/doc/pos-sync/changelog.gz"
install -m 0644 examples/debian/copyright "$root/usr/share/doc/pos-sync/copyright"
install -m 0644 examples/debian/lintian-overrides "$root/usr/share/lintian/overrides/pos-sync"

install -m 0755 examples/debian/postinst examples/debian/prerm examples/debian/postrm "$root/DEBIAN/"
installed_size="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
cat > "$root/DEBIAN/control" <<CONTROL
Package: pos-sync
Version: $version
Architecture: $arch
Maintainer: pos-sync maintainers <pos-sync@example.org>
Installed-Size: $installed_size
Depends: libc6 (>= 2.34), libgcc-s1 (>= 3.4), libstdc++6 (>= 11), passwd
Recommends: systemd
Section: misc
Priority: optional
Description: deliver a store's POS SQLite database to the central store API
 pos-sync keeps a store's local point-of-sale SQLite database in step with
 the central store API, one bounded pass at a time, started every 10 seconds
 by a systemd timer. It brings its own Node.js 24 and a prebuilt SQLite
 binding, so a till needs neither a compiler nor internet access.
CONTROL
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
find "$root" -type d -exec chmod 0755 {} +

mkdir -p dist
out="dist/pos-sync_${version}_${arch}.deb"
# gzip: quick to build in CI, and every dpkg reads it.
# Built aside and renamed in: a test that builds the package while another installs it (the two
# live-systemd files run side by side) never reads half a file.
dpkg-deb --root-owner-group -Zgzip --build "$root" "$stage/pos-sync.deb" >/dev/null
mv -f "$stage/pos-sync.deb" "$out.tmp-$$" && mv -f "$out.tmp-$$" "$out"
echo "$out"
