// %% [markdown]
// # 03 · Which sequence matters? Ranking by contribution (A, C_t, C_d)
//
// The generator is a probe: if a target t is hard to synthesise *from every source*, t holds
// something of its own; if a source s synthesises *every target* well, s is informative. From the
// per-pair synthesis metrics on held-out subjects:
// - **A(i, j)**: how well source i makes target j (z-scored metrics, summed);
// - **C_t(i)**: mean over j of A(i, j), how good sequence i is as a *source*;
// - **C_d(j)**: minus the mean over i of A(i, j), how hard j is to *generate*: its unique
//   information (rank 1 = keep this sequence);
// - 95% intervals by a bootstrap over subjects.
//
// On the phantom we know the answer: only T1Gd sees the contrast agent. The calls are those of
// the desktop notebook `notebooks/03-contribution-ranking.ipynb`.

// %% [markdown]
// ## Parameters
// `pretrained = 'phantom-lite'` uses the project's shipped generator (trained to the acceptance on
// the default phantom) on subjects it never saw, so the ranking shows the designed result at once;
// set it to `''` to train your own for `steps` steps first (a brief training ranks less reliably).

// %% [parameters]
const manifest = '';        // '' = the simulated phantom
const subjects = 24;        // phantom subjects
const size = [64, 64, 32];  // phantom volume size [nx, ny, nz]
const seed = 0;             // phantom, split, training and bootstrap seed
const steps = 60;           // training steps, only used when pretrained = ''
const testSubjects = 2;     // held-out subjects in the evaluation table
const resamples = 1000;     // bootstrap resamples for the confidence intervals
const pretrained = 'phantom-lite'; // the shipped generator to use ('' = train one here)

// %%
import { initEngine, Cohort, createGenerator, loadPretrained, pretrainedCohort, train, liveTrainingCurves, evaluate, rankSequences, formatRanking, contributionMatrixFigure, rankingFigure, display, htmlTable, progressBar, phantom } from 'mriseq';
console.log((await initEngine()).summary);

// %% [markdown]
// ## Cohort and generator

// %%
// The cohort: the simulated phantom (this browser kernel reads no files from your disk). With a
// shipped generator: subjects of its own phantom (64x64x32) it never saw, all held out.
const base = pretrained
  ? await pretrainedCohort(pretrained, testSubjects)
  : Cohort.fromPhantom({ subjects: subjects, size: size as [number, number, number], seed: seed });
const cohort = base.recordedSplit('test').size > 0 ? base : base.withSplit({ seed: seed });
const trainIds = cohort.recordedSplit('train').ids;
const valIds = cohort.recordedSplit('val').ids;
const testIds = cohort.recordedSplit('test').ids.slice(0, testSubjects);
console.log(`${cohort.size} subjects (${trainIds.length} train, ${valIds.length} val, ${testIds.length} test used), sequences ${cohort.sequences.join(', ')}`);

// %%
// The shipped generator, or a brief training here (with a live loss curve; ■ stops it).
const model = pretrained
  ? await loadPretrained(pretrained)
  : createGenerator('lite', { sequences: [...cohort.sequences], seed: seed });
if (!pretrained) {
  const loadSubject = async (id: string) => ({ id, volumes: await cohort.subject(id).loadAll() });
  const trainSet = await Promise.all(trainIds.map(loadSubject));
  const curves = liveTrainingCurves({ throttleMs: 1000 });
  const r = await train(model, trainSet, { steps: steps, seed: seed, crop: Math.min(size[0], size[1]), onProgress: (e) => curves.push(e) });
  curves.done();
  console.log(`trained ${r.steps} steps`);
}
console.log(`generator: ${model.config.sequences.join(', ')} (${pretrained ? `shipped: ${pretrained}` : 'trained here'})`);

// %% [markdown]
// ## The evaluation table
// Every (subject, source, target) row of the held-out subjects.

// %%
const evalCohort = cohort.filter((e) => e.split !== 'test' || testIds.includes(e.id));
const bar = progressBar(testIds.length, { label: 'evaluate' });
const table = { rows: await evaluate(model, evalCohort, { split: 'test', onSubject: () => bar.tick() }) };
bar.done(`${table.rows.length} rows`);
model.dispose();
display(htmlTable(table.rows.slice(0, 8)));

// %% [markdown]
// ## Ranking
// `rankSequences` computes A, C_t, C_d and their bootstrap intervals. With few test subjects the
// intervals are wide: that is the honest answer, not a bug.

// %%
const ranking = rankSequences(table.rows, { resamples: resamples, seed: seed });
console.log(formatRanking(ranking));
display(htmlTable(ranking.sequences.map((r) => ({
  sequence: r.sequence,
  C_t: r.C_t.toFixed(3), 'C_t 95% CI': `[${r.C_t_ci[0].toFixed(2)}, ${r.C_t_ci[1].toFixed(2)}]`,
  C_d: r.C_d.toFixed(3), 'C_d 95% CI': `[${r.C_d_ci[0].toFixed(2)}, ${r.C_d_ci[1].toFixed(2)}]`,
  'rank by C_d': r.rank, 'P(first)': r.p_first.toFixed(2),
}))));

// %% [markdown]
// ### The matrix A
// Rows are sources, columns targets. A dark column is a target no source predicts well (high C_d).

// %% [shared] notebooks/03-contribution-ranking.ipynb: display(contributionMatrixFigure(

// %% [markdown]
// ### C_t and C_d with their 95% confidence intervals

// %% [shared] notebooks/03-contribution-ranking.ipynb: display(rankingFigure(

// %% [markdown]
// ## Checked against the phantom's design
// The phantom is built so that T1Gd carries unique information (contrast uptake) and T1 none (it
// is T1Gd without contrast): a well-trained generator ranks **T1Gd first and T1 last by C_d**.

// %% [shared] notebooks/03-contribution-ranking.ipynb: if (!manifest) {

// %% [markdown]
// ## Exercise
// Which sequence does the ranking put **first** by C_d? Set `mostUnique` to its name.

// %%
let mostUnique: string | null = null; // your answer, e.g. mostUnique = 't2';

// %%
import { check } from 'teach';
check(mostUnique, (a) => a === ranking.order[0], {
  ok: 'right: this sequence is the hardest for the others to reproduce',
  hint: 'look at ranking.order or the tallest C_d bar',
});
