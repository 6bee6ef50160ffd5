#!/usr/bin/env bash
# package.json's "version" script (`npm version 0.1.1` runs it): writes package.json's version into
# src/version.ts, the constant --version and the metrics report, and stages it for npm's commit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
version="$(node -p 'require("./package.json").version')"
sed -i "s/^export const VERSION = '.*';\$/export const VERSION = '$version';/" src/version.ts
grep -q "^export const VERSION = '$version';\$" src/version.ts || { echo "stamp-version: could not write $version into src/version.ts" >&2; exit 1; }
sed -i "1,20s/^\.TH POS-SYNC 1 \([^ ]*\) \"pos-sync [^\"]*\"/.TH POS-SYNC 1 \1 \"pos-sync $version\"/" man/pos-sync.1
git add src/version.ts man/pos-sync.1
