/**
 * Kernel robustness with jupyter_client from .venv (./kernel_hostile.py): bad HMAC signature
 * dropped and logged, unknown message types answered, an exception in a display helper reported as
 * an error, an interrupt during a long loop, signed messages with a null header or null content, a
 * client signing with hmac-sha512; the kernel keeps executing after each. And a malformed
 * connection file is one clear error line, not a stack trace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { installKernel } from '../../src/cli/commands/kernel.js';
import { jupyterEnv } from '../helpers/kernel.js';

const ROOT = resolve(__dirname, '..', '..');
const PY = join(ROOT, '.venv', 'bin', 'python');
const skip = !existsSync(PY)
  ? `no ${PY}: run \`npm run setup\``
  : !existsSync(join(ROOT, 'dist', 'display', 'index.js'))
    ? 'mriseq is not built (dist/display missing): run `npm run build`'
    : undefined;

test(
  'kernel survives hostile messages, display errors and an interrupt, and honours hmac-sha512',
  { skip, timeout: 300_000 },
  () => {
    const prefix = mkdtempSync(join(tmpdir(), 'mriseq-kernel-rel-'));
    const cwd = mkdtempSync(join(tmpdir(), 'mriseq-kernel-cwd-'));
    try {
      installKernel({ prefix });
      const r = spawnSync(PY, [join(__dirname, 'kernel_hostile.py'), join(prefix, 'kernel.stderr')], {
        cwd,
        encoding: 'utf8',
        timeout: 280_000,
        env: jupyterEnv(prefix, { TF_CPP_MIN_LOG_LEVEL: '3' }),
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
      // A signed message with a null header is logged, and does not stop the shell loop.
      assert.equal(o.alive_after_null_header, true, ctx);
      assert.match(String(o.stderr), /header is null/, ctx);
      // Null content, null code, array content, a cursor past the end: error replies of the right type.
      assert.deepEqual(o.null_content_reply, ['execute_reply', 'error', 'InvalidMessage'], ctx);
      assert.deepEqual(o.null_code_reply, ['execute_reply', 'error'], ctx);
      assert.deepEqual(o.array_content_reply, ['complete_reply', 'error'], ctx);
      assert.deepEqual(o.bad_cursor_reply, ['inspect_reply', 'error'], ctx);
      assert.equal(o.alive_after_null_content, true, ctx);
      assert.equal(o.second_cell_after_null_content, '3', ctx);
      // The connection file's signature_scheme is honoured.
      assert.equal(o.sha512_connection_scheme, 'hmac-sha512', ctx);
      assert.equal(o.sha512_kernel_info, 'kernel_info_reply', ctx);
      assert.equal(o.sha512_execute, 'ok', ctx);
    } finally {
      rmSync(prefix, { recursive: true, force: true });
      rmSync(cwd, { recursive: true, force: true });
    }
  },
);

test('a malformed connection file is one clear error line naming the file and the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-kernel-conn-'));
  const good = {
    transport: 'tcp',
    ip: '127.0.0.1',
    shell_port: 50001,
    iopub_port: 50002,
    stdin_port: 50003,
    control_port: 50004,
    hb_port: 50005,
    key: 'k',
    signature_scheme: 'hmac-sha256',
  };
  const cases: [string, string, RegExp][] = [
    ['not-json', '{"transport": "tcp",', /not JSON/],
    ['array', '[]', /expected a JSON object/],
    ['no-port', JSON.stringify({ ...good, shell_port: undefined }), /"shell_port" is undefined/],
    ['bad-port', JSON.stringify({ ...good, hb_port: 70000 }), /"hb_port" is 70000/],
    [
      'bad-scheme',
      JSON.stringify({ ...good, signature_scheme: 'hmac-nosuchhash' }),
      /signature_scheme.*nosuchhash/,
    ],
    ['not-hmac', JSON.stringify({ ...good, signature_scheme: 'rsa' }), /signature_scheme.*"rsa"/],
    ['bad-key', JSON.stringify({ ...good, key: 42 }), /"key" is number/],
    ['bad-transport', JSON.stringify({ ...good, transport: 'udp' }), /"transport" is "udp"/],
  ];
  try {
    for (const [name, text, want] of cases) {
      const file = join(dir, `${name}.json`);
      writeFileSync(file, text);
      const r = spawnSync(process.execPath, [join(ROOT, 'kernel', 'launcher.js'), '--config-path', file], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      assert.equal(r.status, 2, `${name}: exit ${r.status}\n${r.stderr}`);
      assert.equal(lines.length, 1, `${name}: one line expected:\n${r.stderr}`);
      assert.ok(lines[0].includes(file), `${name}: names the file: ${lines[0]}`);
      assert.match(lines[0], want, name);
    }
    const missing = join(dir, 'missing.json');
    const r = spawnSync(process.execPath, [join(ROOT, 'kernel', 'launcher.js'), '--config-path', missing], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim(), `mriseq kernel: bad connection file ${missing}: cannot read it (ENOENT)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
