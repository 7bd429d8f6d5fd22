/**
 * Rich results: tfjs tensors (shape, dtype, values, an image for 2D/3D, read back with an
 * independent PNG decoder), and slow representations (a figure's static PNG) added to a shown
 * output by an update, coalesced, with the work handed to the kernel to wait for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  display,
  registerBundleFinisher,
  setDisplayTransport,
  tensorBundle,
  toMimeBundle,
  type DisplayMessage,
} from '../../src/display/index.js';
import { decodePng } from './png-decode.js';

const png = (b64: unknown) => decodePng(Buffer.from(String(b64), 'base64'));

test('a 2D tensor: shape, dtype, stats, tfjs preview, and a greyscale image of its values', async () => {
  await tf.setBackend('cpu');
  const t = tf.tensor2d([
    [0, 10],
    [20, 30],
    [40, 50],
  ]);
  const b = toMimeBundle(t);
  const text = String(b.data['text/plain']);
  assert.match(text, /^Tensor float32 \[3, 2\] {2}min 0, max 50, mean 25\n/);
  assert.match(text, /\[\[0 , 10\],/);
  const img = png(b.data['image/png']);
  // upscaled by a whole factor so that the long side (3 rows) reaches 96 px
  assert.deepEqual([img.width, img.height, img.channels], [64, 96, 1]);
  for (const [r, c, v] of [
    [0, 0, 0],
    [0, 1, 10],
    [2, 1, 50],
  ])
    assert.equal(img.pixels[r * 32 * 64 + c * 32], Math.round((v * 255) / 50));
  assert.match(String(b.data['text/html']), /<img src="data:image\/png;base64,/);
  t.dispose();
  assert.equal(toMimeBundle(t).data['text/plain'], 'Tensor float32 [3, 2] (disposed)');
});

test('3D tensors: [h, w, 3] as an RGB image, [d, h, w] as its planes side by side; non-finite values counted', () => {
  const rgb = tf.tensor3d(
    [
      [
        [1, 0, 0],
        [0, 1, 0],
      ],
    ],
    [1, 2, 3],
  );
  const a = png(tensorBundle(rgb).data['image/png']);
  assert.equal(a.channels, 3);
  assert.deepEqual([...a.pixels.subarray(0, 3)], [255, 0, 0]);
  const w = a.width;
  assert.deepEqual([...a.pixels.subarray((w - 1) * 3, w * 3)], [0, 255, 0]);
  const vol = tf.tensor3d(
    Float32Array.from({ length: 2 * 3 * 5 }, (_, i) => (i === 5 ? NaN : Math.floor(i / 15))),
    [2, 3, 5],
  );
  const b = tensorBundle(vol);
  assert.match(String(b.data['text/plain']), /min 0, max 1, mean [\d.]+, 1 non-finite/);
  const m = png(b.data['image/png']);
  // two 5x3 planes with a 2-pixel gap, upscaled x8 (long side 12 -> 96)
  assert.deepEqual([m.width, m.height], [96, 24]);
  assert.equal(m.pixels[0], 0);
  assert.equal(m.pixels[m.width - 1], 255);
  // strings and huge tensors: no image, no read-back of every value
  assert.equal(tensorBundle(tf.tensor(['a', 'b'])).data['image/png'], undefined);
  assert.match(
    String(
      tensorBundle({
        ...vol,
        shape: [5000, 5000],
        size: 25_000_000,
        dtype: 'float32',
        isDisposed: false,
        dataSync: () => {
          throw new Error('read');
        },
        toString: () => '',
      }).data['text/plain'],
    ),
    /too large to preview/,
  );
});

test('display(fig): shown at once, then updated with the finished bundle; updates coalesce; the kernel can wait', async () => {
  const msgs: DisplayMessage[] = [];
  const tracked: Promise<unknown>[] = [];
  setDisplayTransport({
    kind: 'test',
    send: (m) => (msgs.push(structuredClone(m)), true),
    track: (p) => void tracked.push(p),
  });
  let renders = 0;
  const off = registerBundleFinisher(async (_obj, out) => {
    renders++;
    await new Promise((r) => setTimeout(r, 30));
    const spec = out.data['application/vnd.plotly.v1+json'] as { layout: { title: string } };
    out.data['image/png'] = `png of ${spec.layout.title}`;
  });
  try {
    const fig = (title: string) => ({ data: [{ type: 'scatter', x: [1], y: [1] }], layout: { title } });
    const h = display(fig('a'));
    h.update(fig('b'));
    h.update(fig('c'));
    assert.equal(tracked.length, 1, 'one render in flight, later updates coalesce');
    await Promise.all(tracked);
    const updates = msgs.filter((m) => m.update);
    const last = updates[updates.length - 1];
    assert.equal(last.displayId, h.displayId);
    assert.equal(last.data['image/png'], 'png of c');
    assert.ok(!msgs.some((m) => m.data['image/png'] === 'png of b'), 'a stale render is never shown');
    assert.ok(renders <= 2, `renders: ${renders}`);
    // no notebook: nothing is rendered
    setDisplayTransport(null);
    display(fig('d'));
    assert.ok(renders <= 2);
  } finally {
    off();
    setDisplayTransport(undefined);
  }
});
