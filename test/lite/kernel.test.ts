/**
 * The teaching site's kernel (litekernel/worker), run in Node: the desktop kernel's cell
 * semantics (declarations kept across cells and re-declarable, top-level await, imports, the last
 * expression as the result), errors that name cell lines, several outputs per cell through
 * mriseq's display transport with update_display_data, interrupts, completion and is_complete.
 * The same code runs in the browser's worker (test/lite/site.test.ts drives it there).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Executor } from '../../litekernel/worker/executor.js';
import { Completer, isComplete, type TypeFiles } from '../../litekernel/worker/complete.js';
import type { OutputKind } from '../../litekernel/worker/protocol.js';
import * as display from '../../src/display/index.js';
import * as plot from '../../src/plot/index.js';
import { interruptSignal, stopRequested } from '../../src/interrupt/index.js';

interface Out {
  kind: OutputKind;
  content: Record<string, unknown>;
}

function kernel(modules: Record<string, () => unknown> = {}) {
  const ex = new Executor({ modules: { mriseq: () => ({ ...display, ...plot }), ...modules } });
  ex.installDisplayTransport();
  let n = 0;
  const run = async (code: string) => {
    const outputs: Out[] = [];
    const reply = await ex.execute(code, (kind, content) => outputs.push({ kind, content }), ++n);
    return { reply, outputs, result: outputs.find((o) => o.kind === 'execute_result') };
  };
  return { ex, run };
}

const text = (o: Out | undefined) => (o?.content.data as Record<string, unknown> | undefined)?.['text/plain'];

test('declarations live across cells, can be declared again, and the last expression is the result', async () => {
  const { run } = kernel({ m: () => ({ a: 1, b: 2, default: 'dflt' }) });
  let r = await run(
    [
      "import d, { a, b as bee } from 'm';",
      "import * as ns from 'm';",
      'const x: number = a + bee;',
      'let [p, , q = 5] = [1, 2];',
      'const { s, ...rest } = { s: 1, t: 2 }, z = await Promise.resolve(7);',
      'function f(n: number): number { return n * x; }',
      'class C { v = 3; }',
      'enum E { A, B }',
      'x',
    ].join('\n'),
  );
  assert.deepEqual(r.reply, { status: 'ok' });
  assert.equal(text(r.result), '3');
  // Functions, classes and enums of the first cell, and its destructured names.
  r = await run('f(2) + z + new C().v + q + rest.t + p + s + E.B + ns.a + d.length');
  assert.equal(text(r.result), String(6 + 7 + 3 + 5 + 2 + 1 + 1 + 1 + 1 + 4));
  // A const declared again (rerunning a cell), seen by the earlier cell's function.
  r = await run('const x = 10;\nf(2)');
  assert.equal(text(r.result), '20');
  // Hoisting inside a cell: a function called above its declaration.
  r = await run('const early = g();\nfunction g() { return 41 + 1; }\nearly');
  assert.equal(text(r.result), '42');
});

test("issue 26's TypeScript cases work: nested await, shorthand names of earlier cells, a throwing cell keeps what it declared", async () => {
  const { run } = kernel();
  assert.equal(text((await run('await (async () => 1)()')).result), '1');
  await run('const seed = 3;');
  assert.equal(text((await run('({ seed })')).result), '{ seed: 3 }');
  const r = await run("const before = 'kept';\nthrow new Error('boom');\nconst after = 1;");
  assert.equal(r.reply.status, 'error');
  assert.equal(text((await run('before')).result), "'kept'");
  assert.equal(text((await run('typeof after')).result), "'undefined'");
});

test('a cell ending in a statement, in a promise or in display() shows no awaited or duplicate result', async () => {
  const { run } = kernel();
  assert.equal((await run('const y = 1;')).result, undefined);
  assert.equal((await run('let u;\nu')).result, undefined);
  // A promise is a value: shown, not awaited (the desktop kernel shows it too).
  assert.match(String(text((await run('Promise.resolve(5)')).result)), /Promise/);
  const r = await run("import { display } from 'mriseq';\ndisplay({ a: 1 })");
  assert.equal(r.result, undefined, 'display() returns a handle the kernel does not echo');
  assert.equal(r.outputs.filter((o) => o.kind === 'display_data').length, 1);
});

test('errors name the cell line, after type-only lines are erased, and the frames of functions', async () => {
  const { run } = kernel();
  let r = await run(
    [
      'interface I {',
      '  a: number;',
      '}',
      'type T = string;',
      'const y = null as unknown as I;',
      'y.a.toFixed();',
    ].join('\n'),
  );
  assert.equal(r.reply.status, 'error');
  const tb = (r.reply as { traceback: string[] }).traceback;
  assert.match(tb[0], /^TypeError: /);
  assert.match(tb[1], /line 6: y\.a\.toFixed\(\);/);
  r = await run(['function inner(v: any) {', '  return v.b.c;', '}', '', 'inner({});'].join('\n'));
  const tb2 = (r.reply as { traceback: string[] }).traceback;
  assert.match(tb2[1], /line 2 in inner: return v\.b\.c;/);
  assert.match(tb2[2], /line 5: inner\(\{\}\);/);
  // Syntax errors: line and column, with a caret under the column.
  r = await run('const ok = 1;\nconst bad = (1 + ;');
  assert.equal(r.reply.status, 'error');
  const se = r.reply as { ename: string; evalue: string; traceback: string[] };
  assert.equal(se.ename, 'SyntaxError');
  assert.match(se.evalue, /line 2, column 18/);
  assert.equal(se.traceback[2].indexOf('^'), se.traceback[1].indexOf(': ') + 2 + 17);
  // An error output goes to the cell as well as the reply.
  assert.equal(r.outputs.filter((o) => o.kind === 'error').length, 1);
});

test('imports: a missing export and an unknown module are clear errors', async () => {
  const { run } = kernel();
  let r = await run("import { writeNifti } from 'mriseq';");
  assert.equal(r.reply.status, 'error');
  assert.match((r.reply as { evalue: string }).evalue, /'mriseq' has no export 'writeNifti'.*Node-only/);
  r = await run("import * as fs from 'fs';");
  assert.equal((r.reply as { ename: string }).ename, 'ModuleNotFoundError');
  assert.match((r.reply as { evalue: string }).evalue, /module 'fs' is not available.*'mriseq'/);
});

test('several outputs per cell, and a display updated in place (update_display_data with its display_id)', async () => {
  const saved = {
    log: console.log,
    warn: console.warn,
    info: console.info,
    debug: console.debug,
    error: console.error,
  };
  let r;
  try {
    const k = kernel();
    k.ex.installConsole();
    r = await k.run(
      [
        "import { display, liveTrainingCurves } from 'mriseq';",
        "console.log('line one');",
        "console.warn('a warning');",
        "display({ data: [{ type: 'bar', x: ['a'], y: [1] }], layout: {} });",
        'const curves = liveTrainingCurves({ throttleMs: 0 });',
        'for (let step = 1; step <= 3; step++) curves.push({ step, loss: { total: 1 / step } });',
        'curves.done();',
        "'the result'",
      ].join('\n'),
    );
  } finally {
    Object.assign(console, saved);
  }
  assert.deepEqual(r.reply, { status: 'ok' });
  const kinds = r.outputs.map((o) => o.kind);
  assert.deepEqual(kinds.slice(0, 2), ['stream', 'stream']);
  assert.deepEqual(
    r.outputs.filter((o) => o.kind === 'stream').map((o) => [o.content.name, o.content.text]),
    [
      ['stdout', 'line one\n'],
      ['stderr', 'a warning\n'],
    ],
  );
  const shown = r.outputs.filter((o) => o.kind === 'display_data');
  assert.equal(shown.length, 2, 'the bar chart and the curve');
  assert.ok((shown[0].content.data as Record<string, unknown>)['application/vnd.plotly.v1+json']);
  const curveId = (shown[1].content.transient as { display_id: string }).display_id;
  const updates = r.outputs.filter((o) => o.kind === 'update_display_data');
  // push 1 shows, pushes 2 and 3 and done() replace it in place
  assert.equal(updates.length, 3);
  for (const u of updates) assert.equal((u.content.transient as { display_id: string }).display_id, curveId);
  const last = (updates[2].content.data as Record<string, { data: { y: number[] }[] }>)[
    'application/vnd.plotly.v1+json'
  ];
  assert.deepEqual(last.data[0].y, [1, 1 / 2, 1 / 3]);
  assert.equal(text(r.result), "'the result'");
  assert.equal(kinds[kinds.length - 1], 'execute_result');
});

test('an interrupt stops the cell at its next await and reaches the host signal of mriseq loops', async () => {
  const { ex, run } = kernel();
  const started = run(
    [
      'let turns = 0;',
      'while (true) {',
      '  turns++;',
      '  await new Promise((r) => setTimeout(r, 5));',
      '}',
    ].join('\n'),
  );
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(stopRequested(), false);
  assert.equal(ex.interrupt(), true);
  assert.equal(stopRequested(), true, "mriseq's loops see the interrupt");
  assert.equal(interruptSignal()?.aborted, true);
  const r = await started;
  assert.equal(r.reply.status, 'error');
  const e = r.reply as { ename: string; traceback: string[] };
  assert.equal(e.ename, 'KeyboardInterrupt');
  assert.match(e.traceback.join('\n'), /line 4: await new Promise/);
  // The kernel goes on, with the interrupted cell's declarations, and a fresh signal.
  const after = await run('turns > 3');
  assert.equal(text(after.result), 'true');
  assert.equal(stopRequested(), false);
  assert.equal(ex.interrupt(), false, 'nothing runs');
});

test('an interrupt during a loop that stops quietly (like training) still ends the cell as interrupted', async () => {
  const { ex, run } = kernel({
    lib: () => ({
      // A stand-in for trainSteps: stops between steps when the host signal aborts.
      async loop(steps: number, progress: { done: number }) {
        while (progress.done < steps && !stopRequested()) {
          await new Promise((r) => setTimeout(r, 5));
          progress.done++;
        }
      },
    }),
  });
  const started = run(
    "import { loop } from 'lib';\nconst progress = { done: 0 };\nawait loop(1000, progress);",
  );
  await new Promise((r) => setTimeout(r, 50));
  ex.interrupt();
  const r = await started;
  assert.equal((r.reply as { ename: string }).ename, 'KeyboardInterrupt');
  const n = Number(text((await run('progress.done')).result));
  assert.ok(n > 0 && n < 1000, `the loop stopped between steps (${n} done)`);
});

test('an interrupt also stops a loop an earlier cell left running (it took its signal at its start)', async () => {
  const { ex, run } = kernel({
    lib: () => ({
      // A stand-in for trainSteps: takes the host's signal once and checks it between steps.
      loop(progress: { done: number; stopped: boolean }) {
        const signal = interruptSignal();
        void (async () => {
          // bounded, so a failing check cannot leave it running for ever
          while (!signal?.aborted && progress.done < 2000) {
            await new Promise((r) => setTimeout(r, 5));
            progress.done++;
          }
          progress.stopped = true;
        })();
      },
    }),
  });
  await run("import { loop } from 'lib';\nconst bg = { done: 0, stopped: false };\nloop(bg);");
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(text((await run('bg.stopped')).result), 'false', 'the loop runs on after its cell ended');
  const later = run('while (true) await new Promise((r) => setTimeout(r, 5));');
  await new Promise((r) => setTimeout(r, 50));
  ex.interrupt();
  assert.equal((await later).reply.status, 'error');
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(text((await run('bg.stopped')).result), 'true');
});

/** TypeScript's ES2022 library from node_modules and a small 'mriseq' declaration. */
function typeFiles(): TypeFiles {
  const dir = join(__dirname, '../../node_modules/typescript/lib');
  const files: TypeFiles = {};
  for (const f of readdirSync(dir))
    if (/^lib\.(es5|es20\d\d[a-z.]*|decorators[a-z.]*)\.d\.ts$/.test(f))
      files[`/lib/${f}`] = readFileSync(join(dir, f), 'utf8');
  files['/node_modules/mriseq/package.json'] = JSON.stringify({ name: 'mriseq', types: 'index.d.ts' });
  files['/node_modules/mriseq/index.d.ts'] = [
    'export interface Subject { id: string; volumes: Record<string, unknown> }',
    'export interface Phantom { subject(i: number): Subject; readonly sequences: string[]; importanceOrder: string[] }',
    '/** Makes a simulated cohort. */',
    'export declare function phantom(options?: { subjects?: number; seed?: number }): Phantom;',
    'export declare function psnr(a: Float32Array, b: Float32Array): number;',
  ].join('\n');
  return files;
}

test("completion: mriseq's exports, members by type, names of earlier cells; inspection shows the doc", () => {
  const c = new Completer();
  c.setFiles(typeFiles());
  const first = "import { phantom } from 'mriseq';\nconst p = phan";
  let r = c.complete(first, first.length);
  assert.equal(r.cursor_start, first.length - 4);
  assert.equal(r.cursor_end, first.length);
  assert.ok(r.matches.includes('phantom'), r.matches.join(','));
  assert.ok(r.matches.every((m) => m.toLowerCase().startsWith('phan')));
  // Members from the declared type of a name made in an earlier cell.
  c.record('cell-a', "import { phantom } from 'mriseq';\nconst ph = phantom({ subjects: 2 });");
  const code = 'ph.';
  r = c.complete(code, code.length, 'cell-b');
  assert.deepEqual(r.matches.filter((m) => ['importanceOrder', 'sequences', 'subject'].includes(m)).sort(), [
    'importanceOrder',
    'sequences',
    'subject',
  ]);
  r = c.complete('ph.subject(0).', 14, 'cell-b');
  assert.ok(r.matches.includes('volumes') && r.matches.includes('id'), r.matches.join(','));
  // The latest source of a cell replaces its older one.
  c.record('cell-a', "import { phantom } from 'mriseq';\nconst other = phantom();");
  r = c.complete('ph', 2, 'cell-b');
  assert.ok(!r.matches.includes('ph'), 'ph is gone with the old source of cell-a');
  const info = c.inspect("import { phantom } from 'mriseq';\nphantom", 40);
  assert.equal(info.found, true);
  assert.match(String(info.data['text/plain']), /function phantom\(options\?[\s\S]*Makes a simulated cohort/);
});

test('is_complete: open constructs are incomplete, other syntax errors invalid', () => {
  assert.deepEqual(isComplete('const x = 1;'), { status: 'complete' });
  assert.equal(isComplete('for (let i = 0; i < 3; i++) {').status, 'incomplete');
  assert.equal(isComplete('const s = `abc').status, 'incomplete');
  assert.equal(isComplete('1 +* 2;\nconst y = 2;').status, 'invalid');
  assert.equal(isComplete("'}'").status, 'complete');
});
