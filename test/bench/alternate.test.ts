/**
 * The bench's turn-taking (bench/alternate.ts) on a simulated clock, and the PyTorch worker's
 * protocol (bench/torch/server.py) on a tiny Python case. No wall-clock timing is asserted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alternate, median } from '../../bench/alternate.js';
import { TorchWorker, torchMissing } from '../../bench/torch.js';

/** A simulated machine whose speed factor changes with the number of pauses so far. */
function machine(speedAt: (pauses: number) => number) {
  let clock = 0;
  let pauses = 0;
  const log: string[] = [];
  return {
    now: () => clock,
    log,
    /** A step of `ms` at the current speed. */
    run(who: string, ms: number): number {
      const d = ms * speedAt(pauses);
      clock += d;
      log.push(who);
      return d;
    },
    pause: async (ms: number) => {
      clock += ms;
      pauses++;
      log.push('pause');
    },
  };
}

test('each turn pairs mriseq with the opponent right after it, so a drifting machine leaves the ratio intact', async () => {
  // the machine is 3x slower during the second turn of both sides (after 2 and 3 pauses)
  const m = machine((p) => (p === 2 || p === 3 ? 3 : 1));
  const opponent = {
    time: async (reps: number, warm: number) => {
      for (let i = 0; i < warm; i++) m.run('theirs-warm', 40);
      return Array.from({ length: reps }, () => m.run('theirs', 40));
    },
  };
  const r = await alternate(() => void m.run('mine', 20), opponent, {
    reps: 9,
    warm: 2,
    turn: 3,
    turnMs: 250,
    now: m.now,
    pause: m.pause,
  });
  // 20 ms hot: a turn needs ceil(250 / 20) = 13 repetitions to reach 250 ms
  assert.equal(r.perTurn, 13);
  assert.equal(r.mine.length, 3 * 13);
  assert.equal(r.theirs.length, 3 * 13);
  assert.equal(r.turnRatios.length, 3);
  // every turn, slow or not, compares like with like: exactly 0.5
  for (const q of r.turnRatios) assert.ok(Math.abs(q - 0.5) < 1e-12, `turn ratio ${q}`);
  // the slow period did land in the data (so the test would see a block-timed comparison go wrong)
  assert.ok(Math.max(...r.mine) > 50 && Math.min(...r.mine) === 20);
  // order: 2 warm, 13 timed, pause, opponent (1 warm + 13), pause, then 1 untimed re-warm + 13 ...
  const firstTurn = m.log.slice(0, 2 + 13 + 1 + 14 + 1 + 1);
  assert.deepEqual(firstTurn, [
    ...Array(15).fill('mine'),
    'pause',
    'theirs-warm',
    ...Array(13).fill('theirs'),
    'pause',
    'mine',
  ]);
  assert.equal(m.log.filter((e) => e === 'mine').length, 2 + 3 * 13 + 2);
});

test('long steps keep the asked repetitions per turn; without an opponent only mriseq is timed', async () => {
  const m = machine(() => 1);
  const r = await alternate(() => void m.run('mine', 400), undefined, {
    reps: 5,
    warm: 1,
    now: m.now,
    pause: m.pause,
  });
  assert.equal(r.perTurn, 3);
  // ceil(5 / 3) = 2 turns of 3
  assert.equal(r.mine.length, 6);
  assert.deepEqual(r.theirs, []);
  assert.deepEqual(r.turnRatios, []);
  assert.ok(!m.log.includes('pause'));
  await assert.rejects(
    alternate(() => undefined, undefined, { reps: 0, warm: 0 }),
    /positive integer/,
  );
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
});

const noTorch = torchMissing();

test(
  'the PyTorch worker builds a case, times it, reports errors and keeps serving',
  { skip: noTorch },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mriseq-bench-'));
    try {
      const mod = join(dir, 'case.py');
      writeFileSync(
        mod,
        [
          'calls = {"n": 0}',
          'def build(case, args):',
          '    if case == "bad":',
          '        raise ValueError("no such case: bad")',
          '    def f():',
          '        calls["n"] += 1',
          '        if calls["n"] > args.get("fail_after", 10**9):',
          '            raise RuntimeError("step failed")',
          '    return f',
          '',
        ].join('\n'),
      );
      const w = new TorchWorker(1);
      try {
        const info = await w.info();
        assert.match(info.torch, /^\d+\.\d+/);
        assert.equal(info.threads, 1);
        await w.setup({ module: mod, case: 'ok' }, 2);
        const ms = await w.time(4, 1);
        assert.equal(ms.length, 4);
        assert.ok(ms.every((v) => Number.isFinite(v) && v >= 0));
        await assert.rejects(w.setup({ module: mod, case: 'bad' }, 0), /ValueError: no such case: bad/);
        // a failed setup leaves no case behind
        await assert.rejects(w.time(1), /no case set up/);
        await w.setup({ module: mod, case: 'ok', args: { fail_after: 1 } }, 0);
        await assert.rejects(w.time(3), /RuntimeError: step failed/);
      } finally {
        w.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
