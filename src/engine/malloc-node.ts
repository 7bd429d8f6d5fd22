/**
 * Which malloc a mriseq process runs with (Node-only: environment, files, processes; no
 * TensorFlow, so that launchers can load it before deciding to start again).
 *
 * Why jemalloc by default: glibc's malloc keeps what a training step frees, separately in each of
 * TensorFlow's threads' arenas, each at its own high-water mark: a compiled lite step took 131 MB
 * above the loaded library at 64 px and 214-231 MB at 128 px, against PyTorch's 98 and 162-165 MB.
 * jemalloc with one arena that keeps freed pages, with V8's young generation held to 1 MB, took it
 * to 75-81 and 155-164 MB at the speed of glibc's (docs/speed.md, "Memory per step: allocators").
 * glibc's own knobs either cost twice the CPU time (MRISEQ_MALLOC=lean) or stayed above PyTorch. A malloc can only be replaced when a process
 * starts, through LD_PRELOAD, so every process mriseq starts gets it in its environment: the CLI
 * starts itself once more with it ({@link relaunchWithAllocator}), the kernelspec carries it, the
 * bench's and notebook runner's child processes get it ({@link allocatorEnv}). The engine's summary
 * says which malloc is in use and, where it is not jemalloc, why ({@link allocatorSummary}).
 *
 * MRISEQ_MALLOC chooses: unset or 'default' (jemalloc where installed, else glibc's, said so),
 * 'jemalloc' (an error where it cannot be had), 'glibc' (glibc as it starts), 'lean' (glibc giving
 * freed blocks of 64 KiB and more back: src/engine/node.ts). Anything else is an error.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { MriseqError } from '../errors/index.js';

export type MallocChoice = 'default' | 'jemalloc' | 'glibc' | 'lean';

/** The malloc a process runs with, from its own mappings. */
export type MallocInUse = 'jemalloc' | 'tcmalloc' | 'glibc';

/**
 * jemalloc's settings: one arena for all threads, so that TensorFlow's inter-op and intra-op
 * threads reuse each other's freed blocks (jemalloc's default of 4 arenas per core: 103 MB at
 * 64 px, 176 MB at 128 px; one arena ~100 and ~155); no per-thread caches of small blocks
 * (97-100 MB at 64 px against 99-102 with them); and freed pages kept, never given back
 * (dirty_decay_ms:-1): with any decay time, 10 s to 100 s alike, the whole-subject generation
 * took ~380,000 page faults and 600 ms of system time per call (2x its time) against 10,000 and
 * 40 ms kept, glibc 18,000-38,000. Kept pages cost a training step 5-10 MB at 64 px and 10-20 MB
 * at 128 px, which the young generation below more than pays back.
 */
export const JEMALLOC_CONF = 'narenas:1,tcache:false,dirty_decay_ms:-1';

/**
 * V8's young generation, MB per semi-space (Node's default grows to 16): a training step's
 * short-lived JavaScript objects (tfjs's tensor bookkeeping) grew it and the process's resident
 * memory with it, 15-25 MB of a step's peak above the loaded library (64 px 75-81 MB instead of
 * 95-104 with jemalloc; 128 px 155-164 instead of 167-177). Read only when Node starts, so it
 * travels with the allocator, in NODE_OPTIONS.
 */
export const SEMI_SPACE_FLAG = '--max-semi-space-size=1';

/** Where Debian/Ubuntu (libjemalloc2), Fedora and Arch put the library. */
const JEMALLOC_PATHS = [
  '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
  '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2',
  '/usr/lib64/libjemalloc.so.2',
  '/usr/lib/libjemalloc.so.2',
  '/usr/local/lib/libjemalloc.so.2',
];

/** Set in the environment of a process the launcher started, so that it never starts again. */
export const LAUNCHED_MARK = 'MRISEQ_MALLOC_LAUNCHED';

/** MRISEQ_MALLOC, checked (a bad value is an error, never ignored). */
export function mallocChoice(env: NodeJS.ProcessEnv = process.env): MallocChoice {
  const v = env.MRISEQ_MALLOC;
  if (!v || v === 'default') return 'default';
  if (v === 'jemalloc' || v === 'glibc' || v === 'lean') return v;
  throw new MriseqError('unknown malloc choice', {
    field: 'MRISEQ_MALLOC',
    found: `'${v}'`,
    expected:
      "'default' (jemalloc where installed), 'jemalloc', 'glibc' (glibc's malloc as it starts) or " +
      "'lean' (glibc giving freed memory back to the system)",
    code: 'engine.bad-malloc',
  });
}

/** jemalloc's shared library: MRISEQ_JEMALLOC (a path) where set, else the usual places. */
export function findJemalloc(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MRISEQ_JEMALLOC) return existsSync(env.MRISEQ_JEMALLOC) ? env.MRISEQ_JEMALLOC : undefined;
  return JEMALLOC_PATHS.find((p) => existsSync(p));
}

function lookedIn(env: NodeJS.ProcessEnv): string {
  return env.MRISEQ_JEMALLOC ? `MRISEQ_JEMALLOC=${env.MRISEQ_JEMALLOC}` : JEMALLOC_PATHS.join(', ');
}

/** A preloaded jemalloc or tcmalloc shows in the process's mappings; else it is glibc's. */
export function mallocInUse(maps?: string): MallocInUse {
  let m = maps;
  if (m === undefined) {
    try {
      m = readFileSync('/proc/self/maps', 'utf8');
    } catch {
      return 'glibc';
    }
  }
  return /libjemalloc/.test(m) ? 'jemalloc' : /libtcmalloc/.test(m) ? 'tcmalloc' : 'glibc';
}

/** What {@link allocatorEnv} decided: the variables to add, or why none. */
export interface AllocatorPlan {
  /** Variables to set in the child's environment (empty when nothing is to change). */
  set: Record<string, string>;
  /** Why jemalloc is not preloaded, where it is not (for the summary and the launcher's note). */
  reason?: string;
}

const hasPreloadedMalloc = (env: NodeJS.ProcessEnv) => /lib(jemalloc|tcmalloc)/.test(env.LD_PRELOAD ?? '');

/**
 * The environment a process mriseq starts should get so that it runs on jemalloc: LD_PRELOAD
 * (jemalloc first, the user's own preloads after it), MALLOC_CONF (unless the user set one) and
 * the launch mark. Nothing when MRISEQ_MALLOC asks for glibc, when a jemalloc or tcmalloc is
 * already preloaded, or outside Linux. Throws a MriseqError for MRISEQ_MALLOC=jemalloc without
 * the library (an explicit request is never dropped).
 */
export function allocatorEnv(
  env: NodeJS.ProcessEnv = process.env,
  platform = process.platform,
): AllocatorPlan {
  const choice = mallocChoice(env);
  if (choice === 'glibc' || choice === 'lean') return { set: {}, reason: `MRISEQ_MALLOC=${choice}` };
  if (hasPreloadedMalloc(env)) return { set: {} };
  if (platform !== 'linux') {
    if (choice === 'jemalloc') throw noJemalloc(env, `preloaded on Linux only (this is ${platform})`);
    return { set: {}, reason: `not on Linux (${platform})` };
  }
  const lib = findJemalloc(env);
  if (!lib) {
    if (choice === 'jemalloc') throw noJemalloc(env, `not found (looked in ${lookedIn(env)})`);
    return {
      set: {},
      reason: `jemalloc not found (looked in ${lookedIn(env)}; apt-get install libjemalloc2)`,
    };
  }
  const nodeOptions = env.NODE_OPTIONS ?? '';
  return {
    set: {
      LD_PRELOAD: env.LD_PRELOAD ? `${lib}:${env.LD_PRELOAD}` : lib,
      ...(env.MALLOC_CONF === undefined ? { MALLOC_CONF: JEMALLOC_CONF } : {}),
      ...(nodeOptions.includes('--max-semi-space-size')
        ? {}
        : { NODE_OPTIONS: nodeOptions ? `${SEMI_SPACE_FLAG} ${nodeOptions}` : SEMI_SPACE_FLAG }),
      [LAUNCHED_MARK]: lib,
    },
  };
}

function noJemalloc(env: NodeJS.ProcessEnv, why: string): MriseqError {
  return new MriseqError('jemalloc was asked for and cannot be had', {
    field: 'MRISEQ_MALLOC',
    found: `'jemalloc', but the library is ${why}`,
    expected: `libjemalloc.so.2 (Debian: apt-get install libjemalloc2; or MRISEQ_JEMALLOC=<path>), or another MRISEQ_MALLOC`,
    code: 'engine.no-jemalloc',
  });
}

/**
 * An environment without what {@link allocatorEnv} added (for processes that must run as their
 * users run them, such as the bench's PyTorch side): jemalloc out of LD_PRELOAD, our MALLOC_CONF
 * out, the mark out. A user's own preloads stay.
 */
export function withoutAllocatorEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const lib = env[LAUNCHED_MARK];
  if (!lib) return { ...env };
  const out: NodeJS.ProcessEnv = { ...env };
  const rest = (env.LD_PRELOAD ?? '').split(':').filter((p) => p && p !== lib);
  if (rest.length) out.LD_PRELOAD = rest.join(':');
  else delete out.LD_PRELOAD;
  if (env.MALLOC_CONF === JEMALLOC_CONF) delete out.MALLOC_CONF;
  const opts = (env.NODE_OPTIONS ?? '')
    .split(' ')
    .filter((o) => o && o !== SEMI_SPACE_FLAG)
    .join(' ');
  if (opts) out.NODE_OPTIONS = opts;
  else delete out.NODE_OPTIONS;
  delete out[LAUNCHED_MARK];
  return out;
}

/**
 * For the engine's summary: which malloc this process runs, and where it is not the one
 * MRISEQ_MALLOC asks for, why. Throws a MriseqError where MRISEQ_MALLOC asks for something this
 * process cannot be (jemalloc not preloaded; glibc or lean with another malloc preloaded).
 */
export function allocatorSummary(env: NodeJS.ProcessEnv = process.env, maps?: string): string {
  const choice = mallocChoice(env);
  const inUse = mallocInUse(maps);
  if ((choice === 'glibc' || choice === 'lean') && inUse !== 'glibc')
    throw new MriseqError(`MRISEQ_MALLOC=${choice} asks for glibc's malloc, but ${inUse} is preloaded`, {
      field: 'LD_PRELOAD',
      found: env.LD_PRELOAD ?? '(set when the process started)',
      expected: `no ${inUse} in LD_PRELOAD (MRISEQ_MALLOC=${choice} is read when Node starts)`,
      code: 'engine.bad-malloc',
    });
  if (inUse === 'jemalloc') {
    const conf = env.MALLOC_CONF ?? '';
    const semi = /--max-semi-space-size[= ](\d+)/.exec(env.NODE_OPTIONS ?? '');
    return `malloc jemalloc${conf ? ` (${conf})` : ''}${semi ? `, V8 semi-space ${semi[1]} MB` : ''}`;
  }
  if (inUse === 'tcmalloc') return 'malloc tcmalloc (preloaded by the environment)';
  if (choice === 'glibc' || choice === 'lean') return `malloc glibc (MRISEQ_MALLOC=${choice})`;
  // glibc, while the default or MRISEQ_MALLOC=jemalloc asked for jemalloc: say why, or refuse.
  const plan = allocatorEnv(env);
  const why =
    plan.reason ??
    `jemalloc is installed but this process was started without it: start Node with ` +
      `LD_PRELOAD=${plan.set.LD_PRELOAD} MALLOC_CONF=${JEMALLOC_CONF} NODE_OPTIONS=${SEMI_SPACE_FLAG}, as the mriseq CLI does ` +
      `(the kernel: mriseq kernel install again)`;
  if (choice === 'jemalloc')
    throw new MriseqError('MRISEQ_MALLOC=jemalloc, but this process runs glibc malloc', {
      field: 'MRISEQ_MALLOC',
      found: why,
      expected: 'jemalloc preloaded when the process starts',
      code: 'engine.no-jemalloc',
    });
  return `malloc glibc: ${why}; training steps take ~1.4x the memory`;
}

/**
 * For a launcher (bin/mriseq.js): where this process should run on jemalloc and does not yet,
 * start it once more with the allocator's environment and the same arguments, pass signals on and
 * leave with its exit status; returns true then (the caller must do nothing else). Returns false
 * where the process is to carry on: jemalloc already there, not wanted, not installed (the engine's
 * summary says so), or this process is itself the one started again (the mark: never a loop).
 */
export function relaunchWithAllocator(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env[LAUNCHED_MARK] !== undefined) return false;
  const plan = allocatorEnv(env);
  if (Object.keys(plan.set).length === 0 || mallocInUse() !== 'glibc') return false;
  const args = [...process.execArgv, ...process.argv.slice(1)];
  // Node 22.15 and later can replace this process: the same pid, nothing in between.
  const execve = (
    process as unknown as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }
  ).execve;
  if (typeof execve === 'function')
    execve(process.execPath, [process.execPath, ...args], { ...env, ...plan.set });
  // A child of its own session: a terminal's Ctrl-C reaches this process only, which passes it on
  // once (the CLI takes a second SIGINT as "stop now", so the child must not get two).
  const child = spawn(process.execPath, args, {
    stdio: 'inherit',
    env: { ...env, ...plan.set },
    detached: true,
  });
  const signals: NodeJS.Signals[] = [
    'SIGINT',
    'SIGTERM',
    'SIGHUP',
    'SIGQUIT',
    'SIGUSR1',
    'SIGUSR2',
    'SIGWINCH',
  ];
  const forward = (s: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(s);
  };
  for (const s of signals) process.on(s, forward);
  process.on('exit', () => forward('SIGTERM'));
  child.on('error', (e) => {
    console.error(`mriseq: could not start again with jemalloc (${e.message})`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    for (const s of signals) process.off(s, forward);
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
  return true;
}
