import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MriseqError, isMriseqError } from '../../src/errors/index.js';

test('MriseqError names file, field, what was found and what was expected in one line', () => {
  const e = new MriseqError('impossible dimension', {
    file: 'sub-01_t1.nii.gz',
    field: 'dim[2]',
    found: '-4',
    expected: 'a positive integer',
    code: 'nifti.dim',
  });
  assert.equal(
    e.message,
    'sub-01_t1.nii.gz: dim[2]: impossible dimension; found -4; expected a positive integer',
  );
  assert.equal(e.code, 'nifti.dim');
  assert.ok(isMriseqError(e));
  assert.ok(!e.message.includes('\n'));
});

test('MriseqError without location is just the problem', () => {
  const e = new MriseqError('no subjects');
  assert.equal(e.message, 'no subjects');
  assert.equal(e.code, 'error');
  assert.ok(!isMriseqError(new Error('x')));
});
