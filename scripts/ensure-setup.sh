#!/usr/bin/env bash
# Makes the README's commands work on a fresh clone: installs node_modules when they are missing or
# older than package-lock.json, then runs the idempotent setup.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[setup] npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi
bash scripts/setup.sh
