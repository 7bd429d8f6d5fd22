/**
 * Generated job scripts (issue 25, item 7): every value that reaches an sbatch script is quoted
 * (bash runs exactly the intended command, sbatch reads each directive as one argument) or, when
 * it holds a control character, refused. The scripts are run by bash (with the environment SLURM
 * gives a task) and their #SBATCH lines read by the real sbatch (`--test-only -vvvvv` prints the
 * arguments it parsed before it looks for a controller).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildScripts } from '../../src/scale/slurm.js';
import { isMriseqError } from '../../src/errors/index.js';

/** Names an attacker or a careless user gives a run folder or a working directory. */
const HOSTILE = `r u n;$(touch PWNED-a)\`touch PWNED-b\`'q'"dq"#h$HOME&|<>*?\\ ${'é'}`;

/** Files named PWNED* anywhere under dir. */
function pwned(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('PWNED')) out.push(join(d, e.name));
      if (e.isDirectory()) walk(join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

/** A launcher that records the arguments it was started with. */
function recorder(dir: string): { launcher: string[]; calls: () => string[][] } {
  const script = join(dir, 'record.js');
  const log = join(dir, 'calls.jsonl');
  writeFileSync(
    script,
    `require('fs').appendFileSync(${JSON.stringify(log)}, JSON.stringify(process.argv.slice(2)) + '\\n');`,
  );
  return {
    launcher: [process.execPath, script],
    calls: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as string[])
        : [],
  };
}

test('hostile run and working-directory names: bash runs exactly the intended command, nothing else', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-scripts-'));
  try {
    const run = join(dir, HOSTILE, 'run');
    const cwd = join(dir, `cwd ${HOSTILE}`);
    mkdirSync(run, { recursive: true });
    mkdirSync(cwd, { recursive: true });
    const rec = recorder(dir);
    const command = ['selftest', '--out', run, '--subjects', '3', '--note', HOSTILE];
    const s = buildScripts({
      run,
      cwd,
      command,
      shards: 2,
      launcher: rec.launcher,
      sbatchArgs: [`--comment=${HOSTILE}`],
      partition: 'debug queue',
    });
    for (const [name, text] of [
      ['task', s.taskText],
      ['merge', s.mergeText!],
    ] as const) {
      const file = join(dir, `${name}.sh`);
      writeFileSync(file, text);
      const r = spawnSync('bash', [file], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_JOB_ID: '77', SLURM_JOB_ID: '78' },
      });
      assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    }
    assert.deepEqual(rec.calls(), [
      [...command, '--shard', '1/2'],
      ['merge', run, '--command', 'selftest', '--shards', '2'],
    ]);
    assert.deepEqual(pwned(dir), []);
    // the script changed into the hostile working directory (cd quoted)
    assert.match(s.taskText, /^cd '/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'each #SBATCH directive is one argument to the real sbatch, spaces, quotes and # included',
  { skip: spawnSync('sbatch', ['--version']).error ? 'sbatch is not installed' : undefined },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'mriseq-scripts-sb-'));
    try {
      // no controller is needed: sbatch prints what it parsed from the script before it looks for one
      const conf = join(dir, 'slurm.conf');
      writeFileSync(
        conf,
        'ClusterName=t\nSlurmctldHost=localhost\nSlurmctldPort=1\nNodeName=localhost CPUs=1\nPartitionName=d Nodes=localhost\n',
      );
      const run = join(dir, HOSTILE);
      const comment = `--comment=a "b" #c \\d ${HOSTILE}`;
      const s = buildScripts({
        run,
        cwd: dir,
        command: ['selftest', '--out', run],
        launcher: ['mriseq'],
        partition: 'p q',
        time: '01:00:00',
        sbatchArgs: [comment, '--qos=short'],
      });
      const file = join(dir, 'task.sh');
      // a last directive sbatch refuses stops it right after parsing (it never looks for a controller)
      writeFileSync(file, s.taskText.replace('set -euo pipefail', '#SBATCH stop-here\nset -euo pipefail'));
      const r = spawnSync('sbatch', ['-vvvvv', '--test-only', file], {
        encoding: 'utf8',
        env: { ...process.env, SLURM_CONF: conf },
        timeout: 60_000,
      });
      const parsed = [...r.stderr.matchAll(/Found in script, argument "(.*)"$/gm)].map((m) => m[1]);
      assert.deepEqual(parsed, [
        '--job-name=mriseq-selftest',
        `--output=${join(run, 'slurm', 'logs', 'selftest-%a.%A.log')}`,
        '--array=0-0%1',
        '--partition=p q',
        '--time=01:00:00',
        comment,
        '--qos=short',
        'stop-here',
      ]);
      assert.match(r.stderr, /Invalid directive found in batch script: stop-here/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('a control character in any value that reaches a script is refused, naming the value', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mriseq-scripts-ctl-'));
  try {
    const run = join(dir, 'run');
    const base = { run, cwd: dir, command: ['selftest', '--out', run], launcher: ['mriseq'] };
    const cases: [string, Parameters<typeof buildScripts>[0], RegExp][] = [
      ['run', { ...base, run: join(dir, 'r\ntouch PWNED'), command: ['selftest'] }, /--run/],
      ['cwd', { ...base, cwd: join(dir, 'c\ntouch PWNED') }, /working directory/],
      ['sbatch arg', { ...base, sbatchArgs: ['--comment=x\ntouch PWNED'] }, /sbatch option/],
      ['partition', { ...base, partition: 'p\r\ntouch PWNED' }, /sbatch option/],
      [
        'command',
        { ...base, command: ['selftest', '--out', run, '--note', 'a\u0000b'] },
        /SUBCOMMAND argument 5/,
      ],
      ['launcher', { ...base, launcher: ['mri\tseq'] }, /launcher argument 1/],
    ];
    for (const [what, opts, field] of cases)
      assert.throws(
        () => buildScripts(opts),
        (e) => isMriseqError(e) && e.code === 'scale.submit.unsafe' && field.test(e.field ?? ''),
        what,
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
