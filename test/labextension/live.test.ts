// The live viewer, both ways through Jupyter comms, in a real JupyterLab with the real mriseq
// kernel and Debian's headless Chromium: a notebook cell shows volumeViewer(...) with an onClick
// callback; the viewer connects to the kernel; a click in the browser reaches the callback (the
// kernel's values of every volume, M_d included, shown back in the viewer); the kernel updates the
// shown viewer in place (viewer.update) and the canvas and readout change. Saves
// test-artifacts/labextension-live.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installKernel } from '../../src/cli/commands/kernel.js';
import { labMissing, launchChromium, ROOT, startLab, writeNotebook } from '../helpers/jupyterlab.js';

const NX = 40;
const NY = 32;
const NZ = 12;
/** The anatomy's value at a voxel; M_d = value / 1000 (so every volume's value is known here). */
const value = (x: number, y: number, z: number) => x + 100 * y + 10000 * z;

const CELL = `import { createVolume, volumeViewer, display } from 'mriseq';
const [nx, ny, nz] = [${NX}, ${NY}, ${NZ}];
const d = new Float32Array(nx * ny * nz);
for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) d[x + nx * (y + ny * z)] = x + 100 * y + 10000 * z;
const real = createVolume(d, [nx, ny, nz]);
const md = createVolume(d.map((v) => v / 1000), [nx, ny, nz]);
const viewer = volumeViewer({ real }, { overlay: { M_d: md }, dtype: 'float32', title: 'live' });
const clicks: { voxel: number[]; values: Record<string, number> }[] = [];
viewer.onClick((c) => clicks.push(c));
display(viewer);`;

const missing = labMissing();

test(
  'JupyterLab: the mriseq kernel updates a shown viewer in place and clicks reach the kernel (comms)',
  { skip: missing, timeout: 900_000 },
  async () => {
    const prefix = mkdtempSync(join(tmpdir(), 'mriseq-live-kernel-'));
    installKernel({ prefix });
    const lab = await startLab({
      exposeApp: true,
      env: { JUPYTER_PATH: join(prefix, 'share', 'jupyter'), TF_CPP_MIN_LOG_LEVEL: '3' },
    });
    writeNotebook(
      join(lab.dir, 'live.ipynb'),
      { name: 'mriseq', display_name: 'mriseq (TypeScript)', language: 'typescript' },
      [{ id: 'viewer', source: CELL }],
    );
    let chrome: Awaited<ReturnType<typeof launchChromium>> | undefined;
    try {
      chrome = await launchChromium();
      const page = chrome.browser.pages()[0] ?? (await chrome.browser.newPage());
      page.setDefaultTimeout(240_000);
      await page.goto(`${lab.base}/lab/tree/live.ipynb?token=${lab.token}`);
      // The notebook's kernel is up; run the cell through JupyterLab's own command.
      await page.waitForFunction(() => {
        const app = (window as unknown as { jupyterapp?: { shell: { currentWidget: unknown } } }).jupyterapp;
        const w = app?.shell.currentWidget as
          { sessionContext?: { session?: { kernel?: { status: string } } } } | undefined;
        return w?.sessionContext?.session?.kernel?.status === 'idle';
      });
      await page.evaluate(async () => {
        const app = (
          window as unknown as { jupyterapp: { commands: { execute(id: string): Promise<unknown> } } }
        ).jupyterapp;
        await app.commands.execute('notebook:run-all-cells');
      });
      const viewer = page.locator('.mriseq-viewer').first();
      await viewer.locator('canvas').first().waitFor({ state: 'visible' });
      assert.equal(await viewer.locator('.mv-error').count(), 0, 'viewer reported an error');
      // The viewer opened its comm and the kernel answered.
      await page.waitForSelector('.mriseq-viewer[data-live="connected"]');

      // Browser -> kernel: click a voxel in the axial plane.
      const axial = viewer.locator('canvas[data-plane=axial]').first();
      const box = (await axial.boundingBox())!;
      await page.mouse.click(box.x + box.width * 0.3, box.y + box.height * 0.6);
      const kernelLine = viewer.locator('.mv-kernel');
      await page.waitForFunction(
        () => document.querySelector<HTMLElement>('.mriseq-viewer .mv-kernel')?.dataset.values,
      );
      const voxel = (await kernelLine.getAttribute('data-voxel'))!.split(',').map(Number);
      const values = JSON.parse((await kernelLine.getAttribute('data-values'))!) as Record<string, number>;
      const truth = value(voxel[0], voxel[1], voxel[2]);
      assert.equal(values.real, truth, `kernel value at ${voxel}`);
      assert.ok(Math.abs(values.M_d - truth / 1000) < 1e-3 * Math.max(1, truth / 1000), `M_d at ${voxel}`);
      // ... and the kernel's callback got the same click (asked through the notebook's kernel).
      const kernelSide = await page.evaluate(async () => {
        type Kernel = {
          requestExecute(c: { code: string }): {
            onIOPub: (m: { header: { msg_type: string }; content: { text?: string } }) => void;
            done: Promise<unknown>;
          };
        };
        const app = (window as unknown as { jupyterapp: { shell: { currentWidget: unknown } } }).jupyterapp;
        const kernel = (app.shell.currentWidget as { sessionContext: { session: { kernel: Kernel } } })
          .sessionContext.session.kernel;
        let text = '';
        const f = kernel.requestExecute({ code: 'console.log(JSON.stringify(clicks))' });
        f.onIOPub = (m) => {
          if (m.header.msg_type === 'stream') text += m.content.text ?? '';
        };
        await f.done;
        return text;
      });
      const clicks = JSON.parse(kernelSide) as {
        voxel: number[];
        values: Record<string, number>;
      }[];
      assert.equal(clicks.length, 1, kernelSide);
      assert.deepEqual(clicks[0].voxel, voxel);
      assert.equal(clicks[0].values.real, truth);

      // Kernel -> browser: replace the anatomy in place; the canvas and the readout change.
      const hash = () =>
        axial.evaluate((c: HTMLCanvasElement) => {
          const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
          let h = 0;
          for (let i = 0; i < d.length; i += 4) h = (h * 31 + d[i]) >>> 0;
          return h;
        });
      const before = await hash();
      await page.evaluate(async () => {
        type Kernel = { requestExecute(c: { code: string }): { done: Promise<unknown> } };
        const app = (window as unknown as { jupyterapp: { shell: { currentWidget: unknown } } }).jupyterapp;
        const kernel = (app.shell.currentWidget as { sessionContext: { session: { kernel: Kernel } } })
          .sessionContext.session.kernel;
        await kernel.requestExecute({
          code: 'viewer.update({ real: createVolume(d.map((v) => (v % 1000) * 7), [nx, ny, nz]) });',
        }).done;
      });
      await page.waitForSelector('.mriseq-viewer[data-updates="1"]');
      await page.waitForFunction((h) => {
        const c = document.querySelector<HTMLCanvasElement>('.mriseq-viewer canvas[data-plane=axial]')!;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let x = 0;
        for (let i = 0; i < d.length; i += 4) x = (x * 31 + d[i]) >>> 0;
        return x !== h;
      }, before);
      await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.6);
      await page.waitForFunction(() =>
        /real=/.test(document.querySelector('.mriseq-viewer .mv-readout')?.textContent ?? ''),
      );
      const readout = (await viewer.locator('.mv-readout').textContent())!;
      const shownVoxel = (await viewer.locator('.mv-readout').getAttribute('data-voxel'))!
        .split(',')
        .map(Number);
      const updated = (value(shownVoxel[0], shownVoxel[1], shownVoxel[2]) % 1000) * 7;
      assert.equal(Number(/real=([-\d.e+]+)/.exec(readout)?.[1]), updated, readout);

      mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
      await viewer.scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(ROOT, 'test-artifacts/labextension-live.png') });
    } finally {
      await chrome?.close();
      await lab.stop();
      rmSync(prefix, { recursive: true, force: true });
    }
  },
);
