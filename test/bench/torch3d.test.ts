/**
 * The bench's PyTorch twin of the 3D generator (bench/torch_generator.py with nd = 3) is the architecture
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
spec = importlib.util.spec_from_file_location('twin', sys.argv[1])
twin = importlib.util.module_from_spec(spec); spec.loader.exec_module(twin)
g = twin.Generator(nd=3)
run = twin.build('3d:16')
print(json.dumps({'sizes': sorted(p.numel() for p in g.parameters()), 'loss': run()}))
`,
      null,
      [join(__dirname, '..', '..', 'bench', 'torch_generator.py')],
    );
    assert.equal(total, 9_966_624);
    assert.deepEqual(theirs.sizes, ours);
    assert.ok(Number.isFinite(theirs.loss), `twin step loss ${theirs.loss}`);
  },
);
