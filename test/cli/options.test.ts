/**
 * The command line's option values: one parser each for integers, numbers, sizes and lists, and a
 * bad value anywhere is an error naming the flag (never NaN passed on: `--seed abc` used to train
 * with seed 0 silently).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { intOption, listOption, numberOption, sizeOption } from '../../src/cli/options.js';
import { MriseqError } from '../../src/errors/index.js';
import { runCli } from '../helpers/cli.js';

const bad = (f: () => unknown, field: string) =>
  assert.throws(f, (e: unknown) => e instanceof MriseqError && e.field === field && e.code === 'cli.option');

test('intOption, numberOption, sizeOption, listOption: values and refusals', () => {
  assert.equal(intOption('12', '--steps', 1), 12);
  assert.equal(intOption('0', '--seed'), 0);
  for (const v of ['', ' ', 'abc', '1.5', '-1', '1e21', 'NaN']) bad(() => intOption(v, '--seed'), '--seed');
  bad(() => intOption('0', '--steps', 1), '--steps');
  assert.equal(numberOption('0.25', '--missing', 0, 0.99), 0.25);
  bad(() => numberOption('1', '--missing', 0, 0.99), '--missing');
  bad(() => numberOption('2.5', '--subjects', 1, 10, true), '--subjects');
  assert.deepEqual(sizeOption('64,64,32'), [64, 64, 32]);
  assert.deepEqual(sizeOption('32x32x16', '--size', { min: 16, multipleOf: 4 }), [32, 32, 16]);
  bad(() => sizeOption('30,32,16', '--size', { multipleOf: 4 }), '--size');
  bad(() => sizeOption('64,64', '--size'), '--size');
  bad(() => sizeOption('4,4,4', '--size', { min: 8 }), '--size');
  assert.deepEqual(listOption(' T1, flair,,t2 '), ['t1', 'flair', 't2']);
  assert.equal(listOption(undefined), undefined);
});

test('mriseq train --seed abc is refused, naming the flag', async () => {
  const r = await runCli([
    'train',
    '--phantom',
    '3',
    '--steps',
    '1',
    '--seed',
    'abc',
    '--out',
    '/nonexistent/never',
  ]);
  assert.equal(r.code, 2);
  assert.match(r.err, /--seed/);
});
