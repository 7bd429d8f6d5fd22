/**
 * The bench's PyTorch twin of the 3D generator (bench/torch_generator3d.py) is the architecture
 * mriseq trains with `--ndims 3`: the same multiset of parameter sizes as the lite preset with
 * ndims 3 (9,966,624 parameters), and one training step of it runs (finite loss) on a 16^3 patch.
 * Otherwise `npm run bench`'s ratio would compare different networks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createGenerator } from '../../src/model/index.js';
import { missingPython, runPython } from '../helpers/python.js';

test(
  "the 3D PyTorch twin has the lite 3D generator's parameters, size for size, and steps",
  { skip: missingPython('torch'), timeout: 300_000 },
  () => {
    const model = createGenerator('lite', { seed: 0, ndims: 3 });
    const ours = [...model.variables.values()].map((v) => v.size).sort((a, b) => a - b);
    const total = model.countParams();
    model.dispose();
    const theirs = runPython<{ sizes: number[]; loss: number }>(
      `
import json, sys, importlib.util, torch
torch.set_num_threads(2)
spec = importlib.util.spec_from_file_location('g3', sys.argv[1])
g3 = importlib.util.module_from_spec(spec); spec.loader.exec_module(g3)
g = g3.Generator3d()
run = g3.build('16')
print(json.dumps({'sizes': sorted(p.numel() for p in g.parameters()), 'loss': run()}))
`,
      null,
      [join(__dirname, '..', '..', 'bench', 'torch_generator3d.py')],
    );
    assert.equal(total, 9_966_624);
    assert.deepEqual(theirs.sizes, ours);
    assert.ok(Number.isFinite(theirs.loss), `twin step loss ${theirs.loss}`);
  },
);
