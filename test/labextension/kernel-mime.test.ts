// The real mriseq kernel (installed into a temp prefix with `mriseq kernel install`) emits the
// viewer's MIME type: a notebook run through nbclient shows volumeViewer(...) and a bare Volume,
// and the saved outputs carry application/vnd.mriseq.volume+json next to the HTML fallback, with
// voxels that decode (in Python: base64 and array, an independent reader) to the values the cell made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const PY = join(ROOT, '.venv', 'bin', 'python');

function skipReason(): string | false {
  if (!existsSync(PY)) return `no ${PY}: run \`npm run setup\` to create the Jupyter environment`;
  if (!existsSync(join(ROOT, 'dist', 'display', 'viewer-mime.js')))
    return 'mriseq is not built with the viewer MIME type (dist/display/viewer-mime.js missing): run `npm run build`';
  const r = spawnSync(PY, ['-c', 'import nbclient'], { encoding: 'utf8' });
  if (r.status !== 0) return `.venv lacks nbclient: ${r.stderr.trim()}`;
  return false;
}

const SCRIPT = String.raw`
import array, base64, json, sys
import nbformat
from nbclient import NotebookClient

nb = nbformat.v4.new_notebook()
nb.metadata["kernelspec"] = {"name": "mriseq", "display_name": "mriseq (TypeScript)", "language": "typescript"}
nb.cells = [nbformat.v4.new_code_cell(s) for s in [
    "import { createVolume, display, volumeViewer } from 'mriseq';\n"
    "const f = (x: number, y: number, z: number) => x + 10 * y + 100 * z;\n"
    "const d = new Float32Array(12 * 10 * 6); for (let z = 0; z < 6; z++) for (let y = 0; y < 10; y++) for (let x = 0; x < 12; x++) d[x + 12 * (y + 10 * z)] = f(x, y, z);\n"
    "const real = createVolume(d, [12, 10, 6]);\n"
    "const md = createVolume(d.map((v) => (v > 300 ? 1 : 0)), [12, 10, 6]);\n"
    "display(volumeViewer({ real }, { overlay: { M_d: md }, dtype: 'float32' }));",
    "real",
]]
NotebookClient(nb, timeout=240, kernel_name="mriseq").execute()
res = []
for cell in nb.cells:
    for o in cell.outputs:
        if o.output_type in ("display_data", "execute_result"):
            data = o["data"]
            p = data.get("application/vnd.mriseq.volume+json")
            if p is None:
                res.append({"mimes": sorted(data.keys())})
                continue
            layers = []
            for l in p["layers"] + p["overlays"]:
                raw = base64.b64decode(l["data"])
                a = array.array({"uint8": "B", "uint16": "H", "float32": "f"}[l["dtype"]])
                a.frombytes(raw)
                if sys.byteorder == "big":
                    a.byteswap()
                layers.append({"name": l["name"], "values": [l["offset"] + l["scale"] * x for x in a]})
            res.append({"mimes": sorted(data.keys()), "shape": p["shape"], "layers": layers})
json.dump(res, sys.stdout)
`;

test(
  'the mriseq kernel sends the volume MIME type with the HTML fallback (nbclient)',
  { skip: skipReason(), timeout: 400_000 },
  () => {
    const prefix = mkdtempSync(join(tmpdir(), 'mriseq-kernel-'));
    const nbDir = mkdtempSync(join(tmpdir(), 'mriseq-nb-'));
    try {
      const inst = spawnSync(
        process.execPath,
        [join(ROOT, 'bin/mriseq.js'), 'kernel', 'install', '--prefix', prefix],
        {
          encoding: 'utf8',
        },
      );
      assert.equal(inst.status, 0, inst.stderr);
      writeFileSync(join(nbDir, 'run.py'), SCRIPT);
      const r = spawnSync(PY, [join(nbDir, 'run.py')], {
        cwd: nbDir,
        encoding: 'utf8',
        timeout: 380_000,
        maxBuffer: 64 << 20,
        env: {
          ...process.env,
          JUPYTER_PATH: join(prefix, 'share', 'jupyter'),
          JUPYTER_DATA_DIR: join(prefix, 'data'),
          JUPYTER_RUNTIME_DIR: join(prefix, 'runtime'),
        },
      });
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      const outs = JSON.parse(r.stdout) as {
        mimes: string[];
        shape?: number[];
        layers?: { name: string; values: number[] }[];
      }[];
      assert.equal(outs.length, 2, JSON.stringify(outs.map((o) => o.mimes)));
      const f = (i: number) => (i % 12) + 10 * (Math.floor(i / 12) % 10) + 100 * Math.floor(i / 120);
      // volumeViewer: float32, exact.
      const [viewer, bare] = outs;
      for (const m of ['application/vnd.mriseq.volume+json', 'text/html', 'image/png', 'text/plain'])
        assert.ok(viewer.mimes.includes(m), `viewer output lacks ${m}: ${viewer.mimes}`);
      assert.deepEqual(viewer.shape, [12, 10, 6]);
      assert.deepEqual(
        viewer.layers!.map((l) => l.name),
        ['real', 'M_d'],
      );
      viewer.layers![0].values.forEach((v, i) => assert.equal(v, f(i)));
      viewer.layers![1].values.forEach((v, i) => assert.equal(v, f(i) > 300 ? 1 : 0));
      // A bare Volume as the cell's result: uint8, within half a quantisation step.
      assert.ok(bare.mimes.includes('application/vnd.mriseq.volume+json'), `bare Volume: ${bare.mimes}`);
      assert.ok(bare.mimes.includes('text/html'));
      const step = (f(12 * 10 * 6 - 1) - f(0)) / 255;
      bare.layers![0].values.forEach((v, i) =>
        assert.ok(Math.abs(v - f(i)) <= step / 2 + 1e-9, `voxel ${i}: ${v}`),
      );
    } finally {
      rmSync(prefix, { recursive: true, force: true });
      rmSync(nbDir, { recursive: true, force: true });
    }
  },
);
