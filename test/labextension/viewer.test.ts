// The viewer in a real JupyterLab and a real browser: JupyterLab from .venv on loopback (random
// port, token, temp root), a notebook whose outputs are the bundles mriseq's display helpers make
// for a 240x240x155 phantom subject with an M_d-like overlay, opened in Debian's headless Chromium
// through playwright-core. Checks: the viewer (not the HTML fallback) renders, canvases are not
// blank, the M_d view differs from the anatomy where the overlay is, moving the z slider changes
// the axial image, and the hover readout equals the volume's value at that voxel (within the
// uint8 quantisation step). Saves test-artifacts/labextension-viewer.png and prints timings.
//
// The notebook's outputs are made here by the same code the kernel runs (volumeViewer(...)
// .toMimeBundle()), not by driving the mriseq kernel: a full-size phantom through tslab from a
// browser session takes minutes on this machine; the kernel's display path has its own tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { labMissing, launchChromium, ROOT as root, startLab, writeNotebook } from '../helpers/jupyterlab.js';

test(
  'JupyterLab renders the mriseq viewer for a phantom subject with an M_d overlay',
  { skip: labMissing(), timeout: 900_000 },
  async () => {
    const { simulateSubject } = await import('../../src/phantom/index.js');
    const { volumeViewer, volumeMimePayload, VOLUME_MIME } = await import('../../src/display/index.js');
    const { createVolume } = await import('../../src/volume/index.js');

    // A phantom subject at BraTS size; "generated" and M_d are stand-ins made from it (T1 scaled to
    // T1Gd's range as a generator that misses the contrast; M_d-like = |T1Gd - generated| / p99).
    const subject = simulateSubject(0, { size: [240, 240, 155] });
    const real = subject.volumes.t1gd!;
    const t1 = subject.volumes.t1!;
    const p99 = (d: Float32Array) => Float32Array.from(d).sort()[Math.floor(0.99 * (d.length - 1))] || 1;
    const k = p99(real.data) / p99(t1.data);
    const generated = createVolume(
      t1.data.map((v) => v * k),
      real.shape,
      { affine: real.affine },
    );
    const s = p99(real.data);
    const md = createVolume(
      real.data.map((v, i) => Math.abs(v - generated.data[i]) / s),
      real.shape,
      { affine: real.affine },
    );
    const t0 = performance.now();
    const single = volumeViewer({ T1Gd: real }, { overlay: { M_d: md }, title: 'T1Gd + M_d' }).toMimeBundle();
    const encodeMs = performance.now() - t0;
    const t1p = performance.now();
    volumeMimePayload({ T1Gd: real }, { overlay: { M_d: md } });
    const payloadMs = performance.now() - t1p;
    const linked = volumeViewer(
      { real: real, generated },
      { overlay: { M_d: md }, maxSize: 128, title: 'real | generated | M_d' },
    ).toMimeBundle();
    const payload = single.data[VOLUME_MIME] as {
      layers: { data: string; scale: number }[];
      overlays: { data: string }[];
    };
    const mb = (payload.layers[0].data.length + payload.overlays[0].data.length) / 1e6;
    console.log(
      `# kernel side: 240x240x155 + overlay: viewer payload ${payloadMs.toFixed(0)} ms (${mb.toFixed(1)} MB base64), ` +
        `whole bundle with the HTML/PNG fallback ${encodeMs.toFixed(0)} ms`,
    );

    const lab = await startLab();
    const { base, token, dir } = lab;
    writeNotebook(
      join(dir, 'viewer.ipynb'),
      { name: 'python3', display_name: 'Python 3', language: 'python' },
      [
        {
          id: 'single',
          execution_count: 1,
          source: 'display(volumeViewer({ T1Gd: real }, { overlay: { M_d: md } }))',
          outputs: [{ output_type: 'display_data', data: single.data, metadata: {} }],
        },
        {
          id: 'linked',
          execution_count: 2,
          source: 'display(volumeViewer({ real, generated }, { overlay: { M_d: md }, maxSize: 128 }))',
          outputs: [{ output_type: 'display_data', data: linked.data, metadata: {} }],
        },
      ],
    );
    let chrome: Awaited<ReturnType<typeof launchChromium>> | undefined;
    try {
      chrome = await launchChromium();
      const browser = chrome.browser;
      const page = browser.pages()[0] ?? (await browser.newPage());
      page.setDefaultTimeout(240_000);
      const tOpen = Date.now();
      await page.goto(`${base}/lab/tree/viewer.ipynb?token=${token}`);
      const viewer = page.locator('.mriseq-viewer').first();
      await viewer.locator('canvas').first().waitFor({ state: 'visible' });
      const pageMs = Date.now() - tOpen;
      await page.waitForFunction(
        () => document.querySelector<HTMLElement>('.mriseq-viewer')?.dataset.renderMs,
      );
      const renderMs = Number(await viewer.getAttribute('data-render-ms'));
      console.log(
        `# browser: viewer for 240x240x155 + overlay decoded and drawn in ${renderMs.toFixed(0)} ms ` +
          `(renderModel); ${pageMs} ms from page load to visible canvas (includes JupyterLab start-up)`,
      );
      assert.equal(await viewer.locator('.mv-error').count(), 0, 'viewer reported an error');
      // Made outside the kernel (as in an exported notebook): no comm, a static viewer that works alone.
      assert.equal(await viewer.getAttribute('data-live'), 'static');
      // 2 views (T1Gd, M_d on T1Gd) x 3 planes.
      assert.equal(await viewer.locator('canvas').count(), 6);

      const stats = (sel: string, i: number) =>
        viewer.evaluate(
          (el, [s, j]) => {
            const c = el.querySelectorAll<HTMLCanvasElement>(s as string)[j as number];
            const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
            let sum = 0;
            let sum2 = 0;
            let hash = 0;
            let colour = 0;
            for (let q = 0; q < d.length; q += 4) {
              const g = (d[q] + d[q + 1] + d[q + 2]) / 3;
              sum += g;
              sum2 += g * g;
              hash = (hash * 31 + d[q] * 7 + d[q + 1] * 13 + d[q + 2]) >>> 0;
              if (d[q] - d[q + 2] > 40) colour++; // reddish: hot colormap pixels
            }
            const n = d.length / 4;
            return { mean: sum / n, sd: Math.sqrt(Math.max(0, sum2 / n - (sum / n) ** 2)), hash, colour };
          },
          [sel, i],
        );
      const axialReal = await stats('canvas[data-plane=axial]', 0);
      const axialMd = await stats('canvas[data-plane=axial]', 1);
      assert.ok(
        axialReal.mean > 5 && axialReal.sd > 5,
        `axial view looks blank: ${JSON.stringify(axialReal)}`,
      );
      assert.ok(
        axialMd.colour > axialReal.colour,
        `no overlay colour on the M_d view: ${JSON.stringify([axialReal, axialMd])}`,
      );

      // The z slider moves the axial plane of every linked view.
      await viewer.locator('input.mv-slider-z').fill('30');
      await page.waitForTimeout(300);
      const moved = await stats('canvas[data-plane=axial]', 0);
      assert.notEqual(moved.hash, axialReal.hash, 'moving the z slider did not change the axial image');
      assert.ok(moved.sd > 1, 'axial slice 30 is blank');

      // Linked: the M_d view moved to slice 30 too.
      assert.notEqual(
        (await stats('canvas[data-plane=axial]', 1)).hash,
        axialMd.hash,
        'the M_d view did not follow',
      );
      // Overlay controls: opacity 0 makes the M_d view identical to the anatomy; threshold 100%
      // leaves (almost) nothing coloured; back to defaults restores the colour.
      const opacity = viewer.locator('input.mv-opacity');
      const threshold = viewer.locator('input.mv-threshold');
      await opacity.fill('0');
      await page.waitForTimeout(300);
      assert.equal(
        (await stats('canvas[data-plane=axial]', 1)).hash,
        moved.hash,
        'opacity 0 still tints the view',
      );
      await opacity.fill('0.6');
      await page.waitForTimeout(300);
      const tinted = await stats('canvas[data-plane=axial]', 1);
      await threshold.fill('1');
      await page.waitForTimeout(300);
      const high = await stats('canvas[data-plane=axial]', 1);
      assert.ok(
        high.colour < tinted.colour / 10,
        `threshold 100%: ${high.colour} vs ${tinted.colour} coloured`,
      );
      await threshold.fill('0.1');
      await viewer.locator('select.mv-colormap').selectOption('jet');
      await page.waitForTimeout(300);
      assert.notEqual(
        (await stats('canvas[data-plane=axial]', 1)).hash,
        tinted.hash,
        'colormap change did nothing',
      );
      await viewer.locator('select.mv-colormap').selectOption('hot');
      // Window/level: a narrower window changes the anatomy.
      const window0 = await viewer.locator('input.mv-window').inputValue();
      await viewer
        .locator('input.mv-window')
        .fill(String(Number(await viewer.locator('input.mv-window').getAttribute('max')) / 10));
      await page.waitForTimeout(300);
      const narrow = await stats('canvas[data-plane=axial]', 0);
      assert.ok(narrow.sd > moved.sd, `narrower window should raise contrast: ${narrow.sd} vs ${moved.sd}`);
      await viewer.locator('input.mv-window').fill(window0);
      await page.waitForTimeout(300);
      assert.equal(
        (await stats('canvas[data-plane=axial]', 0)).hash,
        moved.hash,
        'window reset did not restore the view',
      );
      // Clicking the coronal plane moves the crosshair: the z slider follows the click.
      const coronal = viewer.locator('canvas[data-plane=coronal]').first();
      const cb = (await coronal.boundingBox())!;
      await page.mouse.click(cb.x + cb.width * 0.5, cb.y + cb.height * 0.25);
      const zNow = Number(await viewer.locator('input.mv-slider-z').inputValue());
      const nzShown = 155;
      assert.ok(Math.abs(zNow - Math.round(0.75 * nzShown)) <= 2, `click at 1/4 height gave z=${zNow}`);
      await viewer.locator('input.mv-slider-z').fill('30');
      await page.waitForTimeout(300);

      // Hover readout equals the voxel's value (uint8 quantisation: within half a step).
      const axial = viewer.locator('canvas[data-plane=axial]').first();
      const box = (await axial.boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.45, box.y + box.height * 0.5);
      const readout = viewer.locator('.mv-readout');
      await page.waitForFunction(
        () => document.querySelector<HTMLElement>('.mriseq-viewer .mv-readout')?.dataset.voxel,
      );
      const voxel = (await readout.getAttribute('data-voxel'))!.split(',').map(Number);
      const text = (await readout.textContent())!;
      assert.equal(voxel[2], 30);
      const [nx, ny] = real.shape;
      const truth = real.data[voxel[0] + nx * (voxel[1] + ny * voxel[2])];
      const shown = Number(/T1Gd=([-\d.e+]+)/.exec(text)?.[1]);
      const step = payload.layers[0].scale;
      assert.ok(
        Math.abs(shown - truth) <= step / 2 + 1e-4,
        `readout ${text} vs true value ${truth} at ${voxel}`,
      );

      // The linked viewer: 3 views (real, generated, M_d on real) on the subsampled grid.
      const second = page.locator('.mriseq-viewer').nth(1);
      await second.scrollIntoViewIfNeeded();
      await second.locator('canvas').first().waitFor({ state: 'visible' });
      assert.equal(await second.locator('canvas').count(), 9);
      assert.match((await second.locator('.mv-title').textContent())!, /120x120x78/);

      mkdirSync(join(root, 'test-artifacts'), { recursive: true });
      await viewer.scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(root, 'test-artifacts/labextension-viewer.png'), fullPage: false });
    } finally {
      await chrome?.close();
      await lab.stop();
    }
  },
);
