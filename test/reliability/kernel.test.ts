/**
 * Kernel robustness with jupyter_client from .venv (./kernel_hostile.py): bad HMAC signature
 * dropped and logged, unknown message types answered, an exception in a display helper reported as
 * an error, an interrupt during a long loop; the kernel keeps executing after each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { installKernel } from '../../src/cli/commands/kernel.js';

const ROOT = resolve(__dirname, '..', '..');
const PY = join(ROOT, '.venv', 'bin', 'python');
const skip = !existsSync(PY)
  ? `no ${PY}: run \`npm run setup\``
  : !existsSync(join(ROOT, 'dist', 'display', 'index.js'))
    ? 'mriseq is not built (dist/display missing): run `npm run build`'
    : undefined;

test('kernel survives hostile messages, display errors and an interrupt', { skip, timeout: 300_000 }, () => {
  const prefix = mkdtempSync(join(tmpdir(), 'mriseq-kernel-rel-'));
  const cwd = mkdtempSync(join(tmpdir(), 'mriseq-kernel-cwd-'));
  try {
    installKernel({ prefix });
    const r = spawnSync(PY, [join(__dirname, 'kernel_hostile.py'), join(prefix, 'kernel.stderr')], {
      cwd,
      encoding: 'utf8',
      timeout: 280_000,
      env: {
        ...process.env,
        JUPYTER_PATH: join(prefix, 'share', 'jupyter'),
        JUPYTER_DATA_DIR: join(prefix, 'data'),
        JUPYTER_RUNTIME_DIR: join(prefix, 'runtime'),
        MRISEQ_ROOT: ROOT,
        TF_CPP_MIN_LOG_LEVEL: '3',
      },
    });
    assert.equal(r.status, 0, r.stderr);
    const o = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    const ctx = JSON.stringify(o, null, 1);
    assert.equal(o.bad_signature_reply, false, `a forged message gets no reply: ${ctx}`);
    assert.equal(o.bad_signature_not_run, "'undefined'", `the forged code did not run: ${ctx}`);
    assert.match(String(o.stderr), /signature/i, `the forged message is logged: ${ctx}`);
    assert.equal(o.alive_after_bad_signature, true, ctx);
    assert.equal(o.unknown_reply_type, 'frobnicate_reply', ctx);
    assert.equal(o.unknown_reply_status, 'error', ctx);
    assert.equal(o.alive_after_unknown, true, ctx);
    assert.equal(o.display_helper_status, 'error', ctx);
    assert.equal(o.alive_after_display_error, true, ctx);
    assert.equal(o.interrupt_status, 'error', ctx);
    assert.equal(o.alive_after_interrupt, true, ctx);
  } finally {
    rmSync(prefix, { recursive: true, force: true });
    rmSync(cwd, { recursive: true, force: true });
  }
});
