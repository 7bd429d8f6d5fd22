/**
 * Claim 2's "why", measured (docs/claims.md): the same cohort, split, classifier and seed as
 * notebook 05's paper profile, on the full set and on two sets that keep T1, the sequence C_d
 * ranks last but the label (the rise of T1Gd over T1) is measured against: {T1Gd, T1} and the
 * top-2 by C_d plus T1. Non-inferiority at the notebook's margin (0.05, one-sided alpha 0.05,
 * paired DeLong). Writes <out>/claim2-with-t1-seed<k>.json.
 *
 *   node --import tsx scripts/claim2-with-t1.ts [--seed K] [--out DIR] [--subjects 600]   (about 10 min on 2 cores)
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  initEngine,
  pretrainedCohort,
  buildDownstreamDataset,
  runChannelSets,
  aucDifferenceTest,
  aucNonInferiority,
  useNode,
} from '../src/index.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const seed = Number(arg('--seed', '0'));
const out = arg('--out', 'out/claims');
// 600 is the paper profile; fewer only to check the script runs
const subjects = Number(arg('--subjects', '600'));
if (!Number.isInteger(seed) || seed < 0)
  throw new Error(`--seed: expected a non-negative integer, found ${seed}`);

async function main(): Promise<void> {
  useNode();
  console.log((await initEngine()).summary);
  const t0 = Date.now();
  // notebook 05's paper profile: 600 subjects never seen by phantom-lite, its C_d order, 32x32x16 boxes
  const cohort = pretrainedCohort('phantom-lite', subjects).withSplit({ seed });
  const order = ['t1gd', 't2', 'flair', 't1'];
  const data = await buildDownstreamDataset(cohort, {
    label: 'highEnhancement',
    sequences: order,
    roi: { mask: 'lesion', size: [32, 32, 16], maskOutside: true },
  });
  const r = await runChannelSets(
    data,
    [
      { name: 'full set', channels: order },
      { name: 'T1Gd + T1', channels: ['t1gd', 't1'] },
      { name: 'top-2 + T1', channels: ['t1gd', 't2', 't1'] },
    ],
    {
      seed,
      testFraction: 0.3,
      bootstrap: 1000,
      standardize: 'sd',
      model: { depth: 6, baseWidth: 8, attention: true, pooling: 'avgmax', norm: 'none' },
      train: { epochs: 30, patience: 5, seed },
      onStage: (p) => console.log(`${p.done}/${p.total} ${p.stage}`),
    },
  );
  const [full, ...rest] = r.runs;
  const result = {
    study: 'claim 2, sets with T1',
    seed,
    subjects: data.ids.length,
    testSubjects: r.testIds.length,
    seconds: (Date.now() - t0) / 1000,
    runs: r.runs.map((x) => ({
      name: x.name,
      channels: x.channels,
      auc: x.evaluation.auc,
      ci95: x.evaluation.ci95,
      epochs: x.epochs,
    })),
    tests: rest.map((x) => ({
      name: `${x.name} vs full set`,
      difference: aucDifferenceTest(r.labels, full.scores, x.scores),
      nonInferiority: aucNonInferiority(r.labels, full.scores, x.scores, {
        margin: 0.05,
        alpha: 0.05,
        method: 'delong',
      }),
    })),
  };
  for (const x of result.runs)
    console.log(`${x.name}: AUC ${x.auc.toFixed(3)} [${x.ci95[0].toFixed(3)}, ${x.ci95[1].toFixed(3)}]`);
  for (const t of result.tests)
    console.log(
      `${t.name}: ${t.difference.difference.toFixed(3)}, one-sided lower bound ${t.nonInferiority.lowerBound.toFixed(3)}, non-inferior ${t.nonInferiority.nonInferior}`,
    );
  mkdirSync(out, { recursive: true });
  const file = join(out, `claim2-with-t1-seed${seed}.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify(result, null, 1));
  renameSync(`${file}.tmp`, file);
  console.log(`wrote ${file}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
