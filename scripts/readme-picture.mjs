// The README's picture of the demo's figures page: a screenshot of runs/demo/figures/index.html
// (run `npm run demo` first) in headless Chromium, written to docs/img/demo-figures.png.
// Usage: node scripts/readme-picture.mjs [figures/index.html] [out.png]
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const page = resolve(process.argv[2] ?? 'runs/demo/figures/index.html');
const out = resolve(process.argv[3] ?? 'docs/img/demo-figures.png');
const profile = mkdtempSync(join(tmpdir(), 'mriseq-shot-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.MRISEQ_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
  viewport: { width: 1100, height: 1500 },
});
try {
  const p = await ctx.newPage();
  await p.goto(`file://${page}`);
  await p.waitForLoadState('load');
  await p.screenshot({ path: out, clip: { x: 0, y: 0, width: 1100, height: 1010 } });
  console.log(`wrote ${out}`);
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}
