#!/usr/bin/env bash
# Idempotent project setup, run by `npm run setup` and by scripts/ensure-setup.sh:
#   1. the native TensorFlow engine for tfjs-node (built from the PyPI wheel),
#   2. the Jupyter environment in .venv (JupyterLab 4, nbclient, papermill, jupyter_kernel_test),
#   3. Debian's python3 reference packages used by the tests (when running as root; else a hint),
#   4. the TypeScript build in dist/ (the CLI and the kernel load it),
#   5. the "mriseq (TypeScript)" kernelspec in .venv, so `.venv/bin/jupyter lab` offers it.
# Each step skips itself when already done.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
say() { echo "[setup] $*" >&2; }

# 1. Engine.
if [ "${MRISEQ_SKIP_NATIVE:-0}" != 1 ]; then
  bash scripts/build-tfjs-node.sh || say "native engine not built; mriseq will fall back to wasm/cpu (see above)"
fi

# 2. Jupyter environment.
venv="$root/.venv"
req="$root/python/requirements.txt"
if [ ! -f "$venv/.req-stamp" ] || ! cmp -s "$req" "$venv/.req-stamp"; then
  py=${PYTHON:-python3}
  say "creating the Jupyter environment in .venv with $($py --version 2>&1)"
  [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
  cp "$req" "$venv/.req-stamp"
fi

# 2b. The JupyterLab viewer extension (prebuilt into .venv; JupyterLab needs no rebuild).
bash scripts/build-labextension.sh || say "JupyterLab viewer extension not built (see above); notebooks fall back to the HTML volume view"

# 2c. The teaching site's own build environment (the JupyterLite app and plotly's renderer), kept
# apart from .venv. `npm run lite` builds the site (and our kernel extension, litekernel/).
lreq="$root/python/requirements-lite.txt"
lvenv="$root/.venv-lite"
if [ ! -f "$lvenv/.req-stamp" ] || ! cmp -s "$lreq" "$lvenv/.req-stamp"; then
  say "creating the JupyterLite environment in .venv-lite"
  # From scratch: packages an older requirements file installed would linger otherwise.
  rm -rf "$lvenv"
  "${PYTHON:-python3}" -m venv "$lvenv"
  "$lvenv/bin/python" -m pip install -q --disable-pip-version-check -r "$lreq"
  cp "$lreq" "$lvenv/.req-stamp"
fi

# 3. Independent references for the tests (Debian's builds, owned by /usr/bin/python3).
debs=(python3-nibabel python3-skimage python3-sklearn python3-torch mricron-data chromium)
missing=()
for d in "${debs[@]}"; do dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q 'ok installed' || missing+=("$d"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian packages: ${missing[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  else
    say "missing Debian packages (tests that need them skip, saying so): sudo apt-get install ${missing[*]}"
  fi
fi

# 4. Build.
# `npx tsc` finds the project's TypeScript through the `@mriseq/typescript` alias in package.json
# (docs/dependencies.md says why), straight after `npm ci`; nothing to relink here.
say "compiling TypeScript to dist/"
node node_modules/typescript/bin/tsc -p tsconfig.build.json

# 5. The kernelspec (absolute paths to this Node and kernel/launcher.js; rewritten every time, so a
# moved checkout or another Node is picked up).
node bin/mriseq.js kernel install >&2
