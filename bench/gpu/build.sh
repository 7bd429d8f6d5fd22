#!/usr/bin/env bash
# Builds the GPU check (bench/gpu/webgpu-probe.ts) into a self-contained folder that a GPU machine
# with no registry access can run: the bundle, Dawn's linux-x64 addon, this machine's node binary,
# the Vulkan loader and glvnd libraries from Debian (a CUDA image has the NVIDIA driver's ICD but
# no loader), and the PyTorch CUDA reference. Usage: bash bench/gpu/build.sh [OUT_DIR]
# On the GPU machine: bash OUT_DIR/run.sh  (prints one JSON line for each engine).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/.scratch/gpu-check}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Not project dependencies: a 51 MB package (every platform's Dawn) used only for this check.
(cd "$work" && echo '{"private":true}' > package.json &&
  npm install --ignore-scripts --no-audit --no-fund --silent webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0)
# One copy of tfjs-core (the project's), or the webgpu backend registers on another engine.
rm -rf "$work/node_modules/@tensorflow/tfjs-core" "$work/node_modules/@tensorflow/tfjs-backend-cpu"
ln -s "$root/node_modules/@tensorflow/tfjs-core" "$work/node_modules/@tensorflow/tfjs-core"
ln -s "$root/node_modules/@tensorflow/tfjs-backend-cpu" "$work/node_modules/@tensorflow/tfjs-backend-cpu"
cp "$root/bench/gpu/webgpu-probe.ts" "$work/probe.ts"
sed -i "s#'../../src/#'$root/src/#g" "$work/probe.ts"
rm -rf "$out" && mkdir -p "$out/bin" "$out/deb" "$out/node_modules/webgpu/dist" "$out/bench"
node "$root/node_modules/esbuild/bin/esbuild" "$work/probe.ts" --bundle --platform=node --format=esm \
  --outfile="$out/webgpu-probe.mjs" --external:webgpu --log-level=warning \
  --banner:js="import {createRequire} from 'module'; const require = createRequire(import.meta.url);"
cp "$work/node_modules/webgpu/package.json" "$work/node_modules/webgpu/index.js" "$out/node_modules/webgpu/"
cp -r "$work/node_modules/webgpu/dist/linux-x64" "$out/node_modules/webgpu/dist/"
cp "$(command -v node)" "$out/bin/node"
cp "$root/bench/torch_generator.py" "$root/bench/gpu/torch_cuda.py" "$out/bench/"
(cd "$out/deb" && apt-get download libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libopengl0 libgles2 2>/dev/null)
cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# Runs on the GPU machine (as root: the loader libraries are unpacked into /).
here="$(cd "$(dirname "$0")" && pwd)"
for f in "$here"/deb/*.deb; do dpkg -x "$f" /; done; ldconfig
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
[ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
(cd "$here" && PARITY="${PARITY:-1}" "$here/bin/node" webgpu-probe.mjs)
PYTHONUNBUFFERED=1 python3 "$here/bench/torch_cuda.py"
RUN
chmod +x "$out/run.sh"
du -sh "$out"
