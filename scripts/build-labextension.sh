#!/usr/bin/env bash
# Builds the mriseq JupyterLab extension (labextension/) as a prebuilt extension and installs it
# into .venv/share/jupyter/labextensions/mriseq-jupyterlab/, where JupyterLab loads it with no
# rebuild of JupyterLab. Idempotent: skips the build when nothing under labextension/ changed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ext="$root/labextension"
venv="$root/.venv"
name="mriseq-jupyterlab"
dest="$venv/share/jupyter/labextensions/$name"
if [ ! -x "$venv/bin/jupyter" ]; then
  echo "build-labextension: $venv/bin/jupyter not found (run scripts/setup.sh first)" >&2
  exit 2
fi
stamp="$ext/dist/.build-stamp"
# ../src/display/viewer-protocol.ts: the payload types the viewer shares with the kernel (compiled in).
sum="$(cd "$ext" && cat package.json package-lock.json tsconfig.json src/*.ts ../src/display/viewer-protocol.ts style/*.css | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ] && [ -f "$dest/package.json" ]; then
  echo "build-labextension: $name is up to date"
  exit 0
fi
cd "$ext"
# ignore-scripts comes from labextension/.npmrc (as in the root .npmrc).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
rm -rf lib dist
node node_modules/typescript/bin/tsc -p tsconfig.json
PATH="$venv/bin:$PATH" "$venv/bin/jupyter" labextension build --development False .
out="$ext/dist/$name"
test -f "$out/package.json" || { echo "build-labextension: no build output in $out" >&2; exit 1; }
# Replace the installed copy atomically enough: build beside it, then swap.
mkdir -p "$(dirname "$dest")"
rm -rf "$dest.tmp"
cp -r "$out" "$dest.tmp"
cat > "$dest.tmp/install.json" <<JSON
{ "packageManager": "npm", "packageName": "$name", "uninstallInstructions": "rm -rf $dest" }
JSON
rm -rf "$dest"
mv "$dest.tmp" "$dest"
echo "$sum" > "$stamp"
echo "build-labextension: installed $name into $dest"
