import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  base64,
  display,
  encodePng,
  htmlTable,
  progressBar,
  setDisplayTransport,
  toMimeBundle,
  richMimeBundle,
  volumeView,
  registerMimeProvider,
  type DisplayMessage,
} from '../../src/display/index.js';
import { MriseqError } from '../../src/errors/index.js';
import type { Volume } from '../../src/volume/index.js';
import { missingPython, runPython } from '../helpers/python.js';
import { decodePng } from './png-decode.js';

function collect(): { msgs: DisplayMessage[]; restore: () => void } {
  const msgs: DisplayMessage[] = [];
  setDisplayTransport({ kind: 'test', send: (m) => (msgs.push(structuredClone(m)), true) });
  return { msgs, restore: () => setDisplayTransport(undefined) };
}

function volume(nx: number, ny: number, nz: number, f: (x: number, y: number, z: number) => number): Volume {
  const data = new Float32Array(nx * ny * nz);
  for (let z = 0; z < nz; z++)
    for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) data[x + nx * (y + ny * z)] = f(x, y, z);
  const affine = [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
  return { data, shape: [nx, ny, nz], spacing: [1, 1, 1], affine, datatype: 'float32' };
}

test('base64 equals Buffer base64 for every length remainder', () => {
  for (const n of [0, 1, 2, 3, 4, 5, 255, 1000]) {
    const b = new Uint8Array(n).map((_, i) => (i * 37 + 11) & 0xff);
    assert.equal(base64(b), Buffer.from(b).toString('base64'));
  }
});

test(
  'encodePng: Pillow reads back exactly the pixels (grey, RGB, RGBA, > 64 KiB)',
  { skip: missingPython('PIL') },
  () => {
    const cases = [
      { width: 7, height: 5, channels: 1 as const },
      { width: 13, height: 9, channels: 3 as const },
      { width: 4, height: 3, channels: 4 as const },
      { width: 300, height: 100, channels: 3 as const }, // 90 kB raw: several stored deflate blocks
    ];
    for (const c of cases) {
      const pixels = new Uint8Array(c.width * c.height * c.channels).map(
        (_, i) => (i * 31 + (i >> 7)) & 0xff,
      );
      const png = encodePng({ ...c, pixels });
      const r = runPython<{ size: number[]; mode: string; px: number[] }>(
        `import sys, json, base64, io
from PIL import Image
im = Image.open(io.BytesIO(base64.b64decode(json.load(sys.stdin))))
im.load()
print(json.dumps({"size": list(im.size), "mode": im.mode, "px": list(im.tobytes())}))`,
        Buffer.from(png).toString('base64'),
      );
      assert.deepEqual(r.size, [c.width, c.height]);
      assert.equal(r.mode, { 1: 'L', 3: 'RGB', 4: 'RGBA' }[c.channels]);
      assert.deepEqual(r.px, [...pixels]);
      assert.deepEqual(decodePng(png).pixels, pixels);
    }
    assert.throws(
      () => encodePng({ width: 2, height: 2, channels: 3, pixels: new Uint8Array(5) }),
      MriseqError,
    );
  },
);

test('tables from rows and from a real danfojs DataFrame', () => {
  const t = htmlTable([
    { a: 1, b: 'x<y' },
    { a: 2.123456, c: true },
  ]);
  const b = t.toMimeBundle().data;
  assert.deepEqual(t.columns, ['a', 'b', 'c']);
  assert.match(String(b['text/html']), /<th>a<\/th><th>b<\/th><th>c<\/th>/);
  assert.match(String(b['text/html']), /x&lt;y/);
  assert.match(String(b['text/html']), />2\.123</);
  assert.equal(String(b['text/plain']).split('\n')[0].trim(), 'a      b    c');
  // danfojs is a real dependency: duck typing must match what it actually offers
  const dfd = require('danfojs-node') as { DataFrame: new (rows: object[]) => unknown };
  const df = new dfd.DataFrame([
    { seq: 't1', psnr: 31.5 },
    { seq: 'flair', psnr: 27.25 },
  ]);
  const html = String(toMimeBundle(df).data['text/html']);
  assert.match(html, /<th>seq<\/th><th>psnr<\/th>/);
  assert.match(html, /<td>flair<\/td><td style="text-align:right">27\.25<\/td>/);
});

test('toMimeBundle dispatch: displayable, plotly figure as JSON object, volume, plain values', () => {
  const fig = { data: [{ type: 'bar', x: ['a'], y: [1] }], layout: { title: { text: 'T' } } };
  const fb = toMimeBundle(fig).data;
  assert.deepEqual(fb['application/vnd.plotly.v1+json'], { data: fig.data, layout: fig.layout });
  assert.match(String(fb['text/plain']), /"T": 1 trace\(s\) \(bar\)/);
  const own = toMimeBundle({ toMimeBundle: () => ({ 'text/markdown': '# hi' }) }).data;
  assert.equal(own['text/markdown'], '# hi');
  assert.equal(typeof own['text/plain'], 'string');
  const vb = toMimeBundle(volume(8, 6, 4, (x) => x)).data;
  assert.ok(typeof vb['image/png'] === 'string' && typeof vb['text/html'] === 'string');
  assert.deepEqual(toMimeBundle(42).data, { 'text/plain': '42' });
  assert.equal(richMimeBundle(42), null);
  assert.equal(richMimeBundle({ a: 1 }), null);
  assert.ok(richMimeBundle(fig));
  // providers (e.g. the JupyterLab extension's MIME type) add to bundles
  const off = registerMimeProvider((o, out) => {
    if (o === fig) out.data['application/x-test'] = { ok: true };
  });
  assert.deepEqual(toMimeBundle(fig).data['application/x-test'], { ok: true });
  off();
  assert.equal(toMimeBundle(fig).data['application/x-test'], undefined);
});

test('display sends one multi-MIME message; update reuses the display id; nothing without a notebook', () => {
  setDisplayTransport(null);
  const silent = display({ data: [], layout: {} });
  assert.equal(silent.shown, false);
  assert.ok(silent.bundle.data['application/vnd.plotly.v1+json']);
  setDisplayTransport(undefined);
  const { msgs, restore } = collect();
  try {
    const h = display(htmlTable([{ a: 1 }]));
    assert.equal(h.shown, true);
    h.update(htmlTable([{ a: 2 }]));
    assert.equal(msgs.length, 2);
    assert.equal(msgs[0].update, undefined);
    assert.equal(msgs[1].update, true);
    assert.equal(msgs[0].displayId, msgs[1].displayId);
    assert.match(String(msgs[1].data['text/html']), />2</);
    assert.ok('text/plain' in msgs[0].data && 'text/html' in msgs[0].data);
  } finally {
    restore();
  }
});

test('progress bar: one display updated in place to 100%', () => {
  const { msgs, restore } = collect();
  try {
    const p = progressBar(4, { label: 'train', throttleMs: 0 });
    for (let i = 0; i < 4; i++) p.tick(1, `loss ${i}`);
    p.done('ok');
    const ids = new Set(msgs.map((m) => m.displayId));
    assert.equal(ids.size, 1);
    assert.equal(msgs.filter((m) => !m.update).length, 1);
    const last = String(msgs[msgs.length - 1].data['text/plain']);
    assert.match(last, /^train \[#{30}\] 100% 4\/4 ok$/);
    assert.match(String(msgs[2].data['text/plain']), /\[#{15}\.{15}\] 50% 2\/4/);
  } finally {
    restore();
  }
});

test('volume view: slices embedded as PNGs, anterior up, overlay blended only above threshold', () => {
  const nx = 6;
  const ny = 5;
  const nz = 3;
  const anat = volume(nx, ny, nz, (x, y) => x + 10 * y);
  const overlay = volume(nx, ny, nz, (x, y, z) =>
    x === 2 && y === 1 && z === 1 ? 1 : x === 4 && y === 3 ? 0.05 : 0,
  );
  const v = volumeView(anat, { overlay, window: [0, 45], overlayOpacity: 1, colormap: 'hot' });
  assert.deepEqual(v.slices, [0, 1, 2]);
  const html = v.toHtml();
  assert.equal(html.match(/data:image\/png;base64,/g)?.length, 1 + 3); // shown slice + slider list
  assert.match(html, /type="range" min="0" max="2" value="1"/);
  const s1 = decodePng(v.pngs[1]);
  assert.deepEqual([s1.width, s1.height, s1.channels], [nx, ny, 3]);
  const px = (x: number, r: number) => [...s1.pixels.subarray((r * nx + x) * 3, (r * nx + x) * 3 + 3)];
  // row 0 is y = ny-1 (anterior up): value x + 40 -> grey round(255 * (x+40)/45)
  assert.deepEqual(px(0, 0), Array(3).fill(Math.round((255 * 40) / 45)));
  // the overlay voxel (x=2, y=1) is at row ny-1-1 = 3, full 'hot' (white at t = 1)
  assert.deepEqual(px(2, ny - 1 - 1), [255, 255, 255]);
  // 0.05 is under the 0.1 threshold: plain anatomy
  const g = Math.round((255 * (4 + 30)) / 45);
  assert.deepEqual(px(4, ny - 1 - 3), [g, g, g]);
  // the montage fallback decodes, 3 slices in a row with 2-pixel gaps
  const m = decodePng(v.montagePng);
  assert.deepEqual([m.width, m.height], [3 * nx + 4, ny]);
  assert.throws(() => volumeView(anat, { overlay: new Float32Array(5) }), MriseqError);
});

test('volume view subsamples large slices and caps the slice count', () => {
  const v = volumeView(
    volume(240, 200, 50, (x, y, z) => x + y + z),
    { maxSize: 60, maxSlices: 10 },
  );
  assert.equal(v.slices.length, 10);
  assert.deepEqual([v.width, v.height], [60, 50]);
  assert.ok(v.slices.every((z, i) => i === 0 || z > v.slices[i - 1]));
});
