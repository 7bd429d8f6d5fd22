/**
 * jemalloc by default (src/engine/malloc-node.ts): the environment a process mriseq starts gets,
 * the engine's summary naming the malloc in use (checked against jemalloc's own statistics, which
 * only a running jemalloc prints), and the CLI's launcher: it starts itself once more with jemalloc
 * (never a loop), passes a signal on exactly once, and runs on glibc saying why when jemalloc is
 * absent. Processes are real: a malloc can only be chosen when a process starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  JEMALLOC_CONF,
  LAUNCHED_MARK,
  SEMI_SPACE_FLAG,
  allocatorEnv,
  allocatorSummary,
  findJemalloc,
  mallocChoice,
  mallocInUse,
  withoutAllocatorEnv,
} from '../../src/engine/malloc-node.js';
import { MriseqError } from '../../src/errors/index.js';
import { ROOT, runChild } from './child.js';

const LIB = findJemalloc({});
const noLib = LIB ? false : 'libjemalloc.so.2 is not installed here (apt-get install libjemalloc2)';
const BIN = join(ROOT, 'bin', 'mriseq.js');
const noBuild = existsSync(join(ROOT, 'dist', 'engine', 'malloc-node.js'))
  ? false
  : 'dist/ not built (npm run setup)';
const MISSING = '/nonexistent/libjemalloc.so.2';

/** The variables of ours a test's child must not inherit from however the tests were started. */
const CLEAN: Record<string, undefined> = {
  LD_PRELOAD: undefined,
  MALLOC_CONF: undefined,
  MRISEQ_MALLOC: undefined,
  MRISEQ_JEMALLOC: undefined,
  [LAUNCHED_MARK]: undefined,
  MRISEQ_BACKEND: undefined,
};

function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' };
  for (const [k, v] of Object.entries({ ...CLEAN, ...extra }))
    if (v === undefined) delete e[k];
    else e[k] = v;
  return e;
}

const isErr = (code: string) => (e: unknown) => e instanceof MriseqError && e.code === code;

test('MRISEQ_MALLOC: default, jemalloc, glibc and lean are choices; anything else an error', () => {
  assert.equal(mallocChoice({}), 'default');
  assert.equal(mallocChoice({ MRISEQ_MALLOC: 'default' }), 'default');
  for (const v of ['jemalloc', 'glibc', 'lean'] as const) assert.equal(mallocChoice({ MRISEQ_MALLOC: v }), v);
  assert.throws(() => mallocChoice({ MRISEQ_MALLOC: 'tcmalloc' }), isErr('engine.bad-malloc'));
});

test('allocatorEnv: jemalloc first in LD_PRELOAD, the user own preloads and MALLOC_CONF kept', () => {
  const lib = join(ROOT, 'package.json'); // any file that exists stands in for the library
  const env = { MRISEQ_JEMALLOC: lib };
  assert.deepEqual(allocatorEnv(env, 'linux').set, {
    LD_PRELOAD: lib,
    MALLOC_CONF: JEMALLOC_CONF,
    NODE_OPTIONS: SEMI_SPACE_FLAG,
    [LAUNCHED_MARK]: lib,
  });
  const opts = allocatorEnv({ ...env, NODE_OPTIONS: '--enable-source-maps' }, 'linux').set.NODE_OPTIONS;
  assert.equal(opts, `${SEMI_SPACE_FLAG} --enable-source-maps`);
  const own = allocatorEnv({ ...env, NODE_OPTIONS: '--max-semi-space-size=8' }, 'linux').set;
  assert.equal(own.NODE_OPTIONS, undefined, "the user's own semi-space stays theirs");
  const mine = allocatorEnv({ ...env, LD_PRELOAD: '/x/libfoo.so', MALLOC_CONF: 'narenas:2' }, 'linux').set;
  assert.equal(mine.LD_PRELOAD, `${lib}:/x/libfoo.so`);
  assert.equal(mine.MALLOC_CONF, undefined, "the user's MALLOC_CONF stays theirs");
  // already preloaded (by a user, or by a launcher before): nothing more
  assert.deepEqual(
    allocatorEnv({ ...env, LD_PRELOAD: '/usr/lib/libtcmalloc_minimal.so.4' }, 'linux').set,
    {},
  );
  for (const v of ['glibc', 'lean'])
    assert.deepEqual(allocatorEnv({ ...env, MRISEQ_MALLOC: v }, 'linux').set, {});
  // and taken out again for processes that must run as their users run them
  const withIt = {
    PATH: '/bin',
    LD_PRELOAD: `${lib}:/x/libfoo.so`,
    MALLOC_CONF: JEMALLOC_CONF,
    [LAUNCHED_MARK]: lib,
  };
  assert.deepEqual(withoutAllocatorEnv(withIt), { PATH: '/bin', LD_PRELOAD: '/x/libfoo.so' });
});

test('allocatorEnv: no library is a stated reason by default, an error when asked for by name', () => {
  const plan = allocatorEnv({ MRISEQ_JEMALLOC: MISSING }, 'linux');
  assert.deepEqual(plan.set, {});
  assert.match(String(plan.reason), /jemalloc not found \(looked in MRISEQ_JEMALLOC=\/nonexistent/);
  assert.throws(
    () => allocatorEnv({ MRISEQ_JEMALLOC: MISSING, MRISEQ_MALLOC: 'jemalloc' }, 'linux'),
    isErr('engine.no-jemalloc'),
  );
  assert.match(String(allocatorEnv({}, 'darwin').reason), /not on Linux/);
});

test('allocatorSummary: names the malloc from the mappings; a request the process cannot meet is an error', () => {
  const je = '7f00-7f10 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libjemalloc.so.2\n';
  assert.equal(mallocInUse(je), 'jemalloc');
  assert.equal(mallocInUse('7f00-7f10 r-xp 0 08:01 1 /usr/lib/libtcmalloc_minimal.so.4\n'), 'tcmalloc');
  assert.equal(mallocInUse('7f00-7f10 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libc.so.6\n'), 'glibc');
  assert.equal(allocatorSummary({ MALLOC_CONF: 'narenas:1' }, je), 'malloc jemalloc (narenas:1)');
  assert.match(allocatorSummary({ MRISEQ_JEMALLOC: MISSING }, ''), /^malloc glibc: jemalloc not found/);
  assert.equal(allocatorSummary({ MRISEQ_MALLOC: 'glibc' }, ''), 'malloc glibc (MRISEQ_MALLOC=glibc)');
  assert.throws(() => allocatorSummary({ MRISEQ_MALLOC: 'lean' }, je), isErr('engine.bad-malloc'));
  assert.throws(
    () => allocatorSummary({ MRISEQ_MALLOC: 'jemalloc', MRISEQ_JEMALLOC: MISSING }, ''),
    isErr('engine.no-jemalloc'),
  );
});

const summaryProbe = `
  import { initEngine } from ${JSON.stringify(join(ROOT, 'src', 'index.ts'))};
  const rep = await initEngine({ backend: 'tensorflow' });
  console.log(JSON.stringify({ summary: rep.summary }));
`;
const lastJson = (out: string) => JSON.parse(out.trim().split('\n').pop()!) as { summary: string };

test(
  'initEngine says jemalloc when it is preloaded, and jemalloc itself confirms it runs',
  { skip: noLib },
  () => {
    // stats_print: jemalloc prints its statistics at exit; glibc knows nothing of MALLOC_CONF
    const conf = `${JEMALLOC_CONF},stats_print:true`;
    const r = runChild(summaryProbe, { ...CLEAN, LD_PRELOAD: LIB!, MALLOC_CONF: conf });
    assert.equal(r.status, 0, r.stderr);
    assert.match(lastJson(r.stdout).summary, new RegExp(`malloc jemalloc \\(${conf}\\)`));
    assert.match(r.stderr, /Begin jemalloc statistics/);
  },
);

test('initEngine says glibc and why when jemalloc is missing', () => {
  const r = runChild(summaryProbe, { ...CLEAN, MRISEQ_JEMALLOC: MISSING });
  assert.equal(r.status, 0, r.stderr);
  assert.match(lastJson(r.stdout).summary, /malloc glibc: jemalloc not found \(looked in MRISEQ_JEMALLOC=/);
});

/**
 * Runs bin/mriseq.js with a --require hook that records every Node process it starts (pid, the
 * mark, the malloc from its mappings) in a log; `hold` keeps the relaunched process alive until
 * it gets a SIGINT, which it records and exits 130 on.
 */
function launcher(args: string[], extra: Record<string, string | undefined>, hold = false) {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-launch-'));
  const log = join(dir, 'log');
  const hook = join(dir, 'hook.cjs');
  writeFileSync(
    hook,
    `const fs = require('fs');
     const maps = fs.readFileSync('/proc/self/maps', 'utf8');
     const malloc = /libjemalloc/.test(maps) ? 'jemalloc' : 'glibc';
     fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ pid: process.pid, mark: process.env.${LAUNCHED_MARK} ?? null, malloc }) + '\\n');
     if (${hold} && process.env.${LAUNCHED_MARK}) {
       setInterval(() => {}, 1000);
       process.on('SIGINT', () => { fs.appendFileSync(${JSON.stringify(log)}, 'SIGINT\\n'); setTimeout(() => process.exit(130), 100); });
       fs.appendFileSync(${JSON.stringify(log)}, 'ready\\n');
     }`,
  );
  const env = cleanEnv({ ...extra, NODE_OPTIONS: `--require ${hook}` });
  const lines = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);
  const starts = () =>
    lines()
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { pid: number; mark: string | null; malloc: string });
  /** bin/mriseq.js with these arguments, to the end (more variables on top of the hook's). */
  const cli = (more: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [BIN, ...args], {
      env: { ...env, ...more },
      encoding: 'utf8',
      timeout: 120_000,
    });
  return { dir, log, env, lines, starts, cli, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test(
  'the CLI starts itself once more on jemalloc, exactly once, and its summary says so',
  { skip: noLib || noBuild },
  () => {
    const l = launcher(['engine'], {});
    try {
      const r = l.cli();
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.stdout.includes(`malloc jemalloc (${JEMALLOC_CONF}), V8 semi-space 1 MB`), r.stdout);
      const s = l.starts();
      assert.equal(s.length, 2, `Node processes started: ${JSON.stringify(s)}`);
      assert.deepEqual(
        s.map((x) => [x.mark, x.malloc]),
        [
          [null, 'glibc'],
          [LIB, 'jemalloc'],
        ],
      );
    } finally {
      l.cleanup();
    }
  },
);

test(
  'the launcher never loops: a process that already has the mark carries on as it is',
  { skip: noBuild },
  () => {
    // the mark without the preload (as if LD_PRELOAD had been dropped on the way): no second start
    const l = launcher(['engine'], { [LAUNCHED_MARK]: LIB ?? MISSING });
    try {
      const r = l.cli();
      assert.equal(r.status, 0, r.stderr);
      assert.equal(l.starts().length, 1);
      assert.match(r.stdout, /malloc glibc: /);
    } finally {
      l.cleanup();
    }
  },
);

test('without jemalloc the CLI runs once, on glibc, and says why', { skip: noBuild }, () => {
  const l = launcher(['engine'], { MRISEQ_JEMALLOC: MISSING });
  try {
    const r = l.cli();
    assert.equal(r.status, 0, r.stderr);
    assert.equal(l.starts().length, 1);
    assert.match(r.stdout, /malloc glibc: jemalloc not found \(looked in MRISEQ_JEMALLOC=\/nonexistent/);
    // asked for by name, the same absence is an error, not a fallback
    const e = l.cli({ MRISEQ_MALLOC: 'jemalloc' });
    assert.equal(e.status, 2);
    assert.match(e.stderr, /MRISEQ_MALLOC.*jemalloc.*not found/);
  } finally {
    l.cleanup();
  }
});

test(
  'a SIGINT to the launcher reaches the relaunched CLI exactly once; its exit status comes back',
  { skip: noLib || noBuild },
  async () => {
    const l = launcher(['--help'], {}, true);
    try {
      const p = spawn(process.execPath, [BIN, '--help'], { env: l.env, stdio: 'ignore' });
      const deadline = Date.now() + 60_000;
      while (!l.lines().includes('ready')) {
        if (Date.now() > deadline)
          throw new Error(`the relaunched CLI never got ready: ${l.lines().join(' | ')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const exit = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
      p.kill('SIGINT');
      assert.equal(await exit, 130);
      assert.equal(l.lines().filter((x) => x === 'SIGINT').length, 1);
    } finally {
      l.cleanup();
    }
  },
);
