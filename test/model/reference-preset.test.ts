/**
 * The 'reference' preset is the authors' published 2D configuration (seq2seq_brats_2d_missing.yaml:
 * c_in 3, encoder 64/128/256 with kernels 7/3/3 and strides 1/2/2, 6 + 6 residual blocks, c_lstm
 * 256, decoder 128/64/3, c_s 64, c_w 16). Its parameters, layer by layer, against:
 *  - a PyTorch twin built here from torch.nn modules as the authors' model composes them (conv
 *    blocks with biases, affine-free instance norms, ConvLSTM cells as one conv over [x, h],
 *    hyper-convolutions as a [out, in, k, k, c_w] bank + Linear(c_s, c_w) maps), counted by PyTorch;
 *  - the authors' own Generator, when MRISEQ_AUTHORS_REPO points at a checkout of
 *    fiy2W/mri_seq2seq (not fetched in CI: no network there).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { initEngine, setEngineAdapter } from '../../src/engine/index.js';
import { createGenerator, preset, type Seq2SeqConfig } from '../../src/model/index.js';
import { missingPython, runPython } from '../helpers/python.js';

setEngineAdapter(nodeEngineAdapter);
before(async () => {
  await initEngine();
});

const TWIN = `
import json, sys, torch, torch.nn as nn
c = json.load(sys.stdin)
nd = c['ndims']
Conv = nn.Conv2d if nd == 2 else nn.Conv3d
def count(m): return sum(p.numel() for p in m.parameters())
class Hyper(nn.Module):
    def __init__(s, cin, cout, k):
        super().__init__()
        s.param = nn.Parameter(torch.zeros(cout, cin, *([k] * nd), c['cW']))
        s.b = nn.Parameter(torch.zeros(cout, c['cW']))
        s.fc = nn.Linear(c['cS'], c['cW']); s.fc_bias = nn.Linear(c['cS'], c['cW'])
layers = []
prev = c['cIn']
for i, (ch, k, st) in enumerate(zip(c['cEnc'], c['kEnc'], c['sEnc'])):
    layers.append(('enc.conv%d' % i, Conv(prev, ch, k, stride=st, padding=(k - 1) // 2, padding_mode='reflect'))); prev = ch
for i in range(c['nresEnc']):
    layers.append(('enc.res%d' % i, nn.Sequential(Conv(prev, prev, 3), Conv(prev, prev, 3))))
for name in ('fuse.lstm', 'dec.lstm'):
    for l in range(c['lstmLayers']):
        layers.append(('%s.l%d' % (name, l), Conv(c['cLstm'] * 2, 4 * c['cLstm'], 3, padding=1)))
layers.append(('style', nn.Linear(c['cS'], c['cS'])))
for i in range(c['nresDec']):
    layers.append(('dec.res%d' % i, nn.ModuleList([Hyper(prev, prev, 3), Hyper(prev, prev, 3)])))
for i, (ch, k) in enumerate(zip(c['cDec'], c['kDec'])):
    layers.append(('dec.conv%d' % i, Hyper(prev, ch, k))); prev = ch
print(json.dumps({name: count(m) for name, m in layers}))
`;

// The authors' module names -> ours (one entry per layer).
const AUTHORS = `
import json, sys, collections
sys.path.insert(0, sys.argv[1])
from src.seq2seq.models.seq2seq import Generator
c = json.load(sys.stdin)
g = Generator({'seq2seq': {'ndims': c['ndims'], 'c_s': c['cS'], 'c_w': c['cW'], 'c_in': c['cIn'],
  'c_enc': c['cEnc'], 'k_enc': c['kEnc'], 's_enc': c['sEnc'], 'nres_enc': c['nresEnc'], 'norm': 'InstanceNorm',
  'c_lstm': c['cLstm'], 'c_dec': c['cDec'], 'k_dec': c['kDec'], 's_dec': [1] * len(c['cDec']), 'nres_dec': c['nresDec']}})
last = len(c['cDec']) - 1
out = collections.OrderedDict()
for n, p in g.named_parameters():
    a = n.split('.')
    if a[0] == 'encoder': key = 'enc.%s%s' % ('conv' if a[1] == 'conv' else 'res', a[2])
    elif a[0] in ('enc_convlstm', 'dec_convlstm'): key = '%s.lstm.l%s' % ('fuse' if a[0] == 'enc_convlstm' else 'dec', a[2])
    elif a[0] == 'style_fc': key = 'style'
    elif a[1] == 'res': key = 'dec.res%s' % a[2]
    elif a[1] == 'convs': key = 'dec.conv%s' % a[2]
    else: key = 'dec.conv%d' % last
    out[key] = out.get(key, 0) + p.numel()
print(json.dumps(out))
`;

function ours(cfg: Seq2SeqConfig): Record<string, number> {
  const g = createGenerator(cfg);
  const counts = Object.fromEntries(g.layerParameterCounts());
  assert.equal(
    Object.values(counts).reduce((a, b) => a + b, 0),
    g.countParams(),
  );
  g.dispose();
  return counts;
}

test("reference = the authors' 6 + 6 block configuration; reference-small keeps 3 + 3", () => {
  const r = preset('reference');
  assert.deepEqual(
    [r.cIn, r.cEnc, r.kEnc, r.sEnc, r.nresEnc, r.nresDec, r.cLstm, r.cDec, r.kDec, r.cS, r.cW],
    [3, [64, 128, 256], [7, 3, 3], [1, 2, 2], 6, 6, 256, [128, 64, 3], [3, 3, 7], 64, 16],
  );
  const s = preset('reference-small');
  assert.deepEqual([s.nresEnc, s.nresDec, s.cEnc], [3, 3, r.cEnc]);
});

test(
  "reference preset: parameters per layer equal a PyTorch twin of the authors' modules",
  { skip: missingPython('torch') },
  () => {
    for (const name of ['reference', 'lite'] as const) {
      const cfg = preset(name);
      const mine = ours(cfg);
      const twin = runPython<Record<string, number>>(TWIN, cfg);
      assert.deepEqual(mine, twin, name);
    }
  },
);

const authors = process.env.MRISEQ_AUTHORS_REPO;
const authorsSrc = authors ? join(authors, 'publications') : '';
test(
  "reference preset: parameters per layer equal the authors' Generator (MRISEQ_AUTHORS_REPO)",
  {
    skip: !authors
      ? "set MRISEQ_AUTHORS_REPO to a checkout of fiy2W/mri_seq2seq to compare with the authors' code"
      : !existsSync(join(authorsSrc, 'src', 'seq2seq', 'models', 'seq2seq.py'))
        ? `no publications/src/seq2seq in ${authors}`
        : missingPython('torch', 'yaml'),
  },
  () => {
    const cfg = preset('reference');
    const theirs = runPython<Record<string, number>>(AUTHORS, cfg, [authorsSrc]);
    assert.deepEqual(ours(cfg), theirs);
    assert.equal(
      Object.values(theirs).reduce((a, b) => a + b, 0),
      155159760,
    );
  },
);
