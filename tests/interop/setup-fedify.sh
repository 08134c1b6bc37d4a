#!/usr/bin/env bash
# Installs the interop checkers' npm packages (Fedify 2.3.6 and jsonld, exactly
# as pinned in package-lock.json) into tests/interop/node_modules.
# Idempotent: does nothing when node_modules already matches the lock file.
# Needs node and npm (Debian: apt-get install -y nodejs npm).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup-fedify.sh: node and npm are needed (apt-get install -y nodejs npm)" >&2
  exit 1
fi

# npm writes node_modules/.package-lock.json after a full install; when it is
# identical (ignoring npm's own header lines) to package-lock.json, skip.
stamp=node_modules/.stoa-lock-stamp
if [ -f "$stamp" ] && cmp -s "$stamp" package-lock.json \
  && [ -d node_modules/@fedify/fedify ] && [ -d node_modules/jsonld ]; then
  echo "setup-fedify.sh: node_modules is up to date"
  exit 0
fi

npm ci --no-audit --no-fund --loglevel=error
cp package-lock.json "$stamp"
node -e 'import("@fedify/fedify").then(() => import("jsonld")).then(() => console.log("setup-fedify.sh: @fedify/fedify and jsonld load"))'
