// %% [markdown]
// # 01 · A tour of the phantom: a simulated cohort with known answers
//
// Real MRI cohorts never tell you which sequence holds information no other sequence has.
// mriseq's **phantom** does: it simulates each tissue's physics (T1, T2, proton density), each
// sequence's timing (TR, TE, TI), and lesions whose contrast uptake only T1Gd sees. So we know
// the right answer before any model runs.
//
// Everything runs in your browser, in TypeScript, with the same calls as the desktop notebook
// `notebooks/01-phantom-tour.ipynb` (the cells marked *shared* are copied from it). Run the cells
// one by one (Shift+Enter).

// %% [markdown]
// ## Parameters
// `size` is `[nx, ny, nz]`. `manifest` stays `''` here: the browser kernel simulates the phantom
// and reads no files from your disk (the desktop notebook can read your own cohort).

// %% [parameters]
const manifest = '';        // '' = the simulated phantom
const subjects = 24;        // phantom subjects
const size = [64, 64, 32];  // phantom volume size [nx, ny, nz]
const seed = 0;             // phantom seed

// %% [markdown]
// ## Imports
// Everything comes from the `mriseq` package. `initEngine()` picks the fastest tensor engine this
// browser offers: WebGPU, then WebGL, then the (slow) CPU.

// %% [shared] notebooks/01-phantom-tour.ipynb: import { initEngine, phantom

// %% [markdown]
// ## One phantom subject
// `phantom({...})` costs nothing until a subject is asked for. A subject has `volumes` (one per
// sequence), `truth` (tissue and lesion labels, and the voxels only one sequence can see) and
// `labels`. This cell shows a line of text, a table and its result: three outputs.

// %% [shared] notebooks/01-phantom-tour.ipynb: const ph = phantom(

// %% [markdown]
// ### The four sequences
// The same anatomy through different physics: T1 and T2 spin echo, FLAIR (CSF nulled) and T1
// after gadolinium (T1Gd). Drag a slider to move through the axial slices.

// %% [shared] notebooks/01-phantom-tour.ipynb: for (const [name, v] of Object.entries(s.volumes))

// %% [markdown]
// ### The truth masks
// The lesion labels, and the **unique mask of T1Gd**: the voxels where gadolinium changes the
// T1Gd signal, which no other sequence can predict.

// %% [shared] notebooks/01-phantom-tour.ipynb: display(volumeView(s.volumes.t1gd!

// %% [markdown]
// ## The cohort as a table
// `Cohort` is the same interface for the phantom and for files on disk: subject ids, sequences,
// labels and a seeded split.

// %% [shared] notebooks/01-phantom-tour.ipynb: const cohort = manifest

// %% [markdown]
// ## Contrast comes from physics
// Mean signal of each tissue in each sequence, after the spec's normalisation to [-1, 1].

// %%
import { TISSUE, normalizeIntensity } from 'mriseq';
const tissueMeans: Record<string, Record<string, number>> = {};
for (const [seq, vol] of Object.entries(s.volumes)) {
  if (!vol) continue;
  const v = normalizeIntensity(vol).data;
  const labels = s.truth.tissue.data;
  const sum = new Float64Array(16);
  const count = new Float64Array(16);
  for (let i = 0; i < v.length; i++) {
    sum[labels[i]] += v[i];
    count[labels[i]]++;
  }
  tissueMeans[seq] = {};
  for (const [tissue, label] of Object.entries(TISSUE)) if (count[label]) tissueMeans[seq][tissue] = sum[label] / count[label];
}
const tissues = Object.keys(tissueMeans.t1);
display({
  data: Object.keys(tissueMeans).map((seq) => ({ type: 'bar', name: seq, x: tissues, y: tissues.map((t) => tissueMeans[seq][t]) })),
  layout: { title: { text: 'mean normalised signal per tissue' }, barmode: 'group' },
});

// %% [markdown]
// ## Exercise
// Which sequence makes **CSF** brightest? Set `brightestCsf` to its name ('t1', 't1gd', 't2' or
// 'flair'). Hint: `tissueMeans[seq].csf` holds the numbers behind the chart.

// %%
let brightestCsf: string | null = null; // your answer, e.g. brightestCsf = 'flair';

// %%
import { check } from 'teach';
check(
  brightestCsf,
  (a) => a === Object.keys(tissueMeans).reduce((best, q) => (tissueMeans[q].csf > tissueMeans[best].csf ? q : best)),
  { ok: 'yes: long T2 and no inversion make fluid bright', hint: 'compare tissueMeans[seq].csf across the four sequences' },
);
