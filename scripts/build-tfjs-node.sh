#!/usr/bin/env bash
# Builds @tensorflow/tfjs-node's native binding against the TensorFlow C libraries shipped in the
# tensorflow-cpu wheel on PyPI.
#
# Why: tfjs-node's own install script downloads libtensorflow and a prebuilt addon from a host
# outside the package registries, which fails offline and in CI. The PyPI wheel carries the same C
# API (every TF_*/TFE_* symbol the binding calls is exported), so the binding builds against it with
# node-gyp and Node's local headers. Idempotent: a stamp records what was built; a second run only
# re-verifies (well under a second).
#
# Env: MRISEQ_TFJS_PKG (default @tensorflow/tfjs-node; @tensorflow/tfjs-node-gpu for the GPU engine)
#      MRISEQ_TF_WHEEL (default tensorflow-cpu; tensorflow for the GPU engine)
#      MRISEQ_TF_VERSION (default 2.21.0)   MRISEQ_CACHE (default ~/.cache/mriseq)
#      MRISEQ_CUDA_WHEELS=1 also unpacks the nvidia-*-cu12 wheels of the wheel's and-cuda extra
#      FORCE=1 rebuilds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pkg_name=${MRISEQ_TFJS_PKG:-@tensorflow/tfjs-node}
case "$pkg_name" in *-gpu) wheel=${MRISEQ_TF_WHEEL:-tensorflow} ;; *) wheel=${MRISEQ_TF_WHEEL:-tensorflow-cpu} ;; esac
version=${MRISEQ_TF_VERSION:-2.21.0}
cache=${MRISEQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mriseq}
py=${PYTHON:-python3}
say() { echo "[build-tfjs-node] $*" >&2; }
fail() { say "error: $*"; exit 1; }

[ "$(uname -sm)" = "Linux x86_64" ] || fail "the native engine is built on Linux x86_64 only; mriseq falls back to wasm/cpu elsewhere"
pkg="$root/node_modules/$pkg_name"
[ -f "$pkg/package.json" ] || fail "$pkg_name is not installed in $root/node_modules (run npm ci first)"

binding=$(cd "$pkg" && node -e "console.log(require('@mapbox/node-pre-gyp').find(require('path').resolve('package.json')))")
napi=$(basename "$(dirname "$binding")" | sed 's/^napi-v//')
# hold-signals=1: the binding source is patched (step 3 below); older builds lack it and rebuild.
# graph=<hash>: the graph-function calls of scripts/tfjs-node/mriseq_graph.inc (step 4 below); an
# edit of that file rebuilds.
graph_src="$root/scripts/tfjs-node/mriseq_graph.inc"
[ -f "$graph_src" ] || fail "missing $graph_src"
graph_hash=$(sha256sum "$graph_src" | cut -c1-12)
want="$wheel==$version cuda=${MRISEQ_CUDA_WHEELS:-0} abi=$(node -p process.versions.modules) napi=$napi hold-signals=1 graph=$graph_hash"
stamp="$pkg/deps/.mriseq-stamp"

check() {
  (cd "$root" && TF_CPP_MIN_LOG_LEVEL=3 node -e "
    const tf = require('$pkg_name');
    if (tf.getBackend() !== 'tensorflow') throw new Error('backend is ' + tf.getBackend());
    const v = tf.conv2d(tf.ones([1, 4, 4, 1]), tf.ones([3, 3, 1, 1]), 1, 'same').sum().dataSync()[0];
    if (v !== 100) throw new Error('conv2d gave ' + v + ', expected 100');
    console.error('[build-tfjs-node] ok: ' + '$pkg_name' + ' on libtensorflow ' + tf.backend().binding.TF_Version);
  " 2>&1 | grep -v -e 'absl::InitializeLog' -e 'oneDNN custom operations' >&2) && [ "${PIPESTATUS[0]}" = 0 ]
}

if [ "${FORCE:-0}" != 1 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$binding" ]; then
  check && exit 0
  say "stamp present but the binding does not load: rebuilding"
fi

# 1. The wheel's C libraries and headers, extracted once into the cache.
libs="$cache/$wheel-$version"
if [ ! -f "$libs/.complete" ]; then
  mkdir -p "$cache/wheels"
  whl=$(ls "$cache/wheels/${wheel//-/_}-$version-"*.whl 2>/dev/null | head -1 || true)
  if [ -z "$whl" ]; then
    say "downloading $wheel==$version from PyPI"
    # Every cp3xx wheel carries the same C libraries: pin one tag set so the local Python's version
    # does not matter (the 2.21 wheels are tagged manylinux_2_27 only).
    "$py" -m pip download -q --no-deps --only-binary=:all: --implementation cp --python-version 3.11 \
      --abi cp311 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
      -d "$cache/wheels" "$wheel==$version"
    whl=$(ls "$cache/wheels/${wheel//-/_}-$version-"*.whl | head -1)
  fi
  say "extracting C libraries and headers from $(basename "$whl")"
  rm -rf "$libs.tmp"
  "$py" - "$whl" "$libs.tmp" <<'PY'
import sys, zipfile
whl, out = sys.argv[1], sys.argv[2]
files = {'tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'}
dirs = ('tensorflow/include/tensorflow/c/', 'tensorflow/include/tensorflow/core/platform/',
        'tensorflow/include/tsl/', 'tensorflow/include/xla/tsl/c/')
with zipfile.ZipFile(whl) as z:
    names = z.namelist()
    missing = files - set(names)
    if missing:
        sys.exit('the wheel lacks %s' % sorted(missing))
    for n in names:
        if n in files or (n.startswith(dirs) and not n.endswith('/')) or n.endswith('.dist-info/METADATA'):
            z.extract(n, out)
PY
  mv "$libs.tmp"/*.dist-info/METADATA "$libs.tmp/tensorflow/METADATA"
  rm -rf "$libs"; mv "$libs.tmp/tensorflow" "$libs"; rm -rf "$libs.tmp"
  touch "$libs/.complete"
  rm -f "$whl" # the extracted copy is the cache; the wheel downloads again in seconds if needed
fi

# 2. The deps/ layout binding.gyp links against (its RUNPATH is $ORIGIN/../../deps/lib).
rm -rf "$pkg/deps"; mkdir -p "$pkg/deps/lib"
cp -r "$libs/include" "$pkg/deps/include"
for f in libtensorflow_cc.so.2 libtensorflow_framework.so.2; do
  ln "$libs/$f" "$pkg/deps/lib/$f" 2>/dev/null || cp "$libs/$f" "$pkg/deps/lib/$f"
done
ln -s libtensorflow_cc.so.2 "$pkg/deps/lib/libtensorflow.so"
ln -s libtensorflow_framework.so.2 "$pkg/deps/lib/libtensorflow_framework.so"

if [ "${MRISEQ_CUDA_WHEELS:-0}" = 1 ]; then
  cuda="$libs-cuda"
  if [ ! -f "$cuda/.complete" ]; then
    mapfile -t reqs < <(sed -n 's/^Requires-Dist: \(nvidia-[^;]*\); extra == "and-cuda"$/\1/p' "$libs/METADATA" | tr -d ' ')
    [ ${#reqs[@]} -gt 0 ] || fail "no and-cuda requirements in $wheel's METADATA"
    say "downloading ${#reqs[@]} CUDA wheels"
    rm -rf "$cuda.tmp"; mkdir -p "$cuda.tmp/whl"
    "$py" -m pip download -q --no-deps --only-binary=:all: --implementation cp --python-version 3.11 \
      --abi cp311 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 -d "$cuda.tmp/whl" "${reqs[@]}"
    "$py" - "$cuda.tmp/whl" "$cuda.tmp" <<'PY'
import sys, zipfile, glob
for w in glob.glob(sys.argv[1] + '/*.whl'):
    with zipfile.ZipFile(w) as z:
        for n in z.namelist():
            if n.startswith('nvidia/') and ('/lib/' in n or n.endswith('/bin/ptxas')) and not n.endswith('/'):
                z.extract(n, sys.argv[2])
PY
    rm -rf "$cuda.tmp/whl" "$cuda"; mv "$cuda.tmp" "$cuda"; touch "$cuda/.complete"
  fi
  # The TF libraries look for CUDA in $ORIGIN/../nvidia/*/lib.
  cp -al "$cuda/nvidia" "$pkg/deps/nvidia" 2>/dev/null || cp -a "$cuda/nvidia" "$pkg/deps/nvidia"
fi

# 3. Hold asynchronous signals while TensorFlow executes an op. TensorFlow 2.21 (CPU) corrupts
# the malloc heap when a signal is delivered to the thread running an eager op: a small conv net
# trained with Adam while SIGUSR2 reached the main thread about once per ms aborted with
# "corrupted size vs. prev_size while consolidating" (or segfaulted, or spun forever) within seconds,
# in Node through this binding and in Python through the official tensorflow-cpu 2.21 wheel alike;
# PyTorch's same loop did not (2026-11-26, test/reliability/signals.test.ts). A Ctrl-C, a terminal
# resize or a Jupyter interrupt is such a signal, and so is `node --cpu-prof`'s SIGPROF. The binding
# runs every op on Node's main thread, so it blocks the asynchronous signals around TFE_Execute and
# TF_SessionRun; a signal that arrives meanwhile is delivered when the op returns (fault signals
# stay unblocked). Idempotent: the marker says the source is patched already.
node - "$pkg/binding/tfjs_backend.cc" <<'JS'
const fs = require('fs');
const file = process.argv[2];
let src = fs.readFileSync(file, 'utf8');
const MARK = '// mriseq: hold asynchronous signals while TensorFlow runs (scripts/build-tfjs-node.sh)';
if (!src.includes(MARK)) {
  const anchor = '#include "utils.h"\n';
  const calls = ['TFE_Execute(tfe_op.op,', 'TF_SessionRun(savedmodel_entry->second.first,'];
  const found = [anchor, ...calls].filter((c) => src.split(c).length === 2);
  if (found.length !== 3) {
    console.error(`[build-tfjs-node] error: ${file} changed; cannot place the signal hold (found ${found.length} of 3 anchors)`);
    process.exit(1);
  }
  src = src.replace(anchor, `${anchor}
${MARK}
#include <pthread.h>
#include <signal.h>
namespace {
struct MriseqHoldSignals {
  sigset_t old;
  MriseqHoldSignals() {
    sigset_t set;
    sigfillset(&set);
    for (int fault : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS}) sigdelset(&set, fault);
    pthread_sigmask(SIG_BLOCK, &set, &old);
  }
  ~MriseqHoldSignals() { pthread_sigmask(SIG_SETMASK, &old, nullptr); }
};
}  // namespace
`);
  // each call becomes `MriseqHoldSignals ...; <call>` inside its own block, up to the call's `;`
  for (const c of calls) {
    const i = src.indexOf(c);
    const end = src.indexOf(';', i) + 1;
    src = src.slice(0, i) + '{ MriseqHoldSignals mriseq_hold; ' + src.slice(i, end) + ' }' + src.slice(end);
  }
  fs.writeFileSync(file, src);
}
JS

# 4. Graph functions: a few calls that build a TF_Graph op by op, turn it into a function of the
# binding's eager context (TF_GraphToFunction, TFE_ContextAddFunction) and collect run metadata,
# so that a whole training step runs as one op (src/engine/graph.ts), and glibc's mallopt and
# mallinfo2 (MRISEQ_MALLOC=lean in src/engine/node.ts; the memory bench). The C++ is ours
# (scripts/tfjs-node/mriseq_graph.inc, copied next to tfjs_binding.cc and included there); the
# upstream files get two accessors and one call. Idempotent like step 3.
cp "$graph_src" "$pkg/binding/mriseq_graph.inc"
node - "$pkg/binding/tfjs_backend.h" "$pkg/binding/tfjs_binding.cc" "$pkg/binding/tfjs_backend.cc" <<'JS'
const fs = require('fs');
const [header, binding, backend] = process.argv.slice(2);
const MARK = '// mriseq: graph functions (scripts/build-tfjs-node.sh)';
const patch = (file, edits) => {
  let src = fs.readFileSync(file, 'utf8');
  if (src.includes(MARK)) return;
  for (const [anchor, replacement] of edits) {
    if (src.split(anchor).length !== 2) {
      console.error(`[build-tfjs-node] error: ${file} changed; cannot place the graph functions (anchor ${JSON.stringify(anchor)})`);
      process.exit(1);
    }
    src = src.replace(anchor, replacement);
  }
  fs.writeFileSync(file, src);
};
patch(header, [
  [
    '  bool is_gpu_device;\n};',
    `  bool is_gpu_device;
  ${MARK}
  TFE_Context *mriseq_context() { return tfe_context_; }
  TFE_TensorHandle *mriseq_handle(int32_t id) {
    auto it = tfe_handle_map_.find(id);
    return it == tfe_handle_map_.end() ? nullptr : it->second;
  }
};`,
  ],
]);
patch(binding, [
  [
    'static napi_value InitTFNodeJSBinding(napi_env env, napi_value exports) {',
    `${MARK}
#include <cstring>
#include "mriseq_graph.inc"

static napi_value InitTFNodeJSBinding(napi_env env, napi_value exports) {`,
  ],
  ['#undef EXPORT_INT_PROPERTY\n', '#undef EXPORT_INT_PROPERTY\n  MriseqGraphExports(env, exports);\n'],
]);
// MRISEQ_TF_CONFIG (a serialized ConfigProto, hex) configures the eager context: the options of
// the graph optimizer that compiled functions go through, thread pools.
patch(backend, [
  [
    '  TFE_ContextOptions *tfe_options = TFE_NewContextOptions();\n',
    `  TFE_ContextOptions *tfe_options = TFE_NewContextOptions();
  ${MARK}
  if (const char *hex = getenv("MRISEQ_TF_CONFIG")) {
    std::string bytes;
    for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) bytes.push_back(static_cast<char>(std::stoi(std::string(hex + i, 2), nullptr, 16)));
    TFE_ContextOptionsSetConfig(tfe_options, bytes.data(), bytes.size(), tf_status.status);
    if (TF_GetCode(tf_status.status) != TF_OK) NAPI_THROW_ERROR(env, "MRISEQ_TF_CONFIG: %s", TF_Message(tf_status.status));
  }
`,
  ],
]);
JS

# 5. node-gyp offline: --nodedir points at the local headers so nothing is downloaded.
nodedir=${NODEDIR:-$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")}
[ -f "$nodedir/include/node/node_api.h" ] || fail "Node headers not found in $nodedir/include/node (set NODEDIR)"
gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
[ -f "$gyp" ] || fail "npm's bundled node-gyp not found at $gyp"
say "compiling the binding (node-gyp, napi v$napi)"
(cd "$pkg" && node "$gyp" rebuild --nodedir="$nodedir" -j max --napi_build_version="$napi" \
  --module_name=tfjs_binding --module_path="$(dirname "$binding")") >"$pkg/deps/node-gyp.log" 2>&1 ||
  { tail -30 "$pkg/deps/node-gyp.log" >&2; fail "node-gyp failed; log in $pkg/deps/node-gyp.log"; }
check || fail "the built binding does not load"
echo "$want" >"$stamp"
