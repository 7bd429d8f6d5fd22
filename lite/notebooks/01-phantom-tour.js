// %% [markdown]
// # 1. A tour of the phantom: a simulated cohort with known answers
//
// Real MRI cohorts never tell you which sequence holds information no other sequence has.
// mriseq's **phantom** does: it simulates each tissue's physics (T1, T2, proton density),
// each sequence's timing (TR, TE, TI), and lesions whose contrast uptake only T1Gd sees. So we
// know the right answer before any model runs.
//
// Everything runs in your browser. Run the cells one by one (Shift+Enter).

// %%
const teach = await import(new URL('../files/assets/teach.js', document.baseURI).href);
const { report } = await teach.load(); // defines the global `mriseq`
teach.say(report.summary);

// %% [markdown]
// ## One subject, four sequences
// A cohort is lazy: subjects are simulated when asked for, always the same for a given seed.

// %%
const cohort = mriseq.phantom({ subjects: 8, seed: 0, size: [32, 32, 16] });
const subject = cohort.subject(0);
const z = 8;
await teach.show(teach.sliceRow(subject.volumes, z, { title: `${subject.id}, axial slice ${z}` }), {
  height: 260,
  note: `${subject.id}: sequences ${Object.keys(subject.volumes).join(', ')}, shape ${subject.volumes.t1.shape.join(' x ')}`,
});

// %% [markdown]
// ## The ground truth
// `subject.truth.tissue` labels every voxel (0 background, 1 scalp, 2 CSF, 3 grey matter,
// 4 white matter, 5 oedema, 6 necrotic core, 7 cellular core). `subject.truth.unique.t1gd` marks
// the voxels where gadolinium changes the T1Gd signal: information **only T1Gd** has.

// %%
const fraction = subject.truth.uniqueFraction.t1gd;
await teach.show(
  teach.sliceRow({ t1gd: subject.volumes.t1gd, tissue: subject.truth.tissue, 'unique to T1Gd': subject.truth.unique.t1gd }, z, {
    title: 'T1Gd, tissue labels and the voxels only T1Gd can see',
  }),
  { height: 260, note: `fraction of head voxels with T1Gd-only information: ${(100 * fraction).toFixed(1)}%` },
);

// %% [markdown]
// ## Contrast comes from physics
// Mean signal of each tissue in each sequence (after the spec's normalisation to [-1, 1]).

// %%
const tissueMeans = {};
for (const [seq, vol] of Object.entries(subject.volumes)) {
  const v = mriseq.prepareVolume(vol, true);
  tissueMeans[seq] = {};
  for (const [name, label] of Object.entries(mriseq.TISSUE)) {
    let sum = 0;
    let n = 0;
    for (let i = 0; i < v.data.length; i++)
      if (subject.truth.tissue.data[i] === label) {
        sum += v.data[i];
        n++;
      }
    if (n) tissueMeans[seq][name] = sum / n;
  }
}
const tissues = Object.keys(tissueMeans.t1);
await teach.show({
  data: Object.keys(tissueMeans).map((seq) => ({ type: 'bar', name: seq, x: tissues, y: tissues.map((t) => tissueMeans[seq][t]) })),
  layout: { title: { text: 'mean normalised signal per tissue' }, barmode: 'group' },
});

// %% [markdown]
// ## Exercise
// Which sequence makes **CSF** brightest? Set `brightestCsf` to its name ('t1', 't1gd', 't2' or
// 'flair'). Hint: `tissueMeans[seq].csf` holds the numbers behind the chart.

// %%
let brightestCsf = null; // your answer, e.g. brightestCsf = 'flair';

// %%
teach.check(
  brightestCsf,
  (a) => a === Object.keys(tissueMeans).reduce((best, s) => (tissueMeans[s].csf > tissueMeans[best].csf ? s : best)),
  { ok: 'yes: long T2 and no inversion make fluid bright', hint: 'compare tissueMeans[seq].csf across the four sequences' },
);
