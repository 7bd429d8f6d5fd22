// %% [markdown]
// # 4. Where is the unique information? Imaging-differentiation maps (M_d)
//
// The ranking says *which* sequence is irreplaceable; the map M_d(t) says *where*. For a target
// sequence t, the generator makes t from each of the other sequences; voxels where all of them
// fail to reproduce the real t hold information only t has. On the phantom these should be the
// enhancing lesion voxels in T1Gd.

// %%
const teach = await import(new URL('../files/assets/teach.js', document.baseURI).href);
const { report } = await teach.load(); // defines the global `mriseq`
teach.say(report.summary);

// %% [markdown]
// ## A tiny cohort and a brief training (about a minute on a laptop GPU)

// %%
const cohort = mriseq.phantom({ subjects: 10, seed: 0, size: [32, 32, 16] });
const pick = (i) => ({ id: cohort.subject(i).id, volumes: cohort.subject(i).volumes });
const subjects = [0, 1, 2, 3, 4, 5, 6, 7].map(pick);
const model = mriseq.createGenerator('lite', { sequences: cohort.sequences, seed: 0 });
// notebook 2's training loop and live curve in one call; its code: assets/teach.js in the file browser
const { trained, curve } = await teach.train(model, subjects, { steps: teach.param('steps', 60), crop: 32, lr: 1e-3, seed: 0 });

// %%
await teach.show(curve.figure(), { height: 320, note: `trained ${trained.steps} steps, last loss ${trained.finalLoss.total.toFixed(3)}` });

// %% [markdown]
// ## M_d(T1Gd) of a held-out subject, over its anatomy

// %%
const generate = mriseq.generatorFunction(model);
const test = cohort.subject(9);
const sequences = Object.fromEntries(Object.entries(test.volumes).map(([k, v]) => [k, mriseq.prepareVolume(v, true)]));
const mdT1gd = await mriseq.differentiationMap(sequences, 't1gd', generate);
await teach.show(
  [
    mriseq.differentiationMapFigure(sequences.t1gd, mdT1gd, { count: 4, title: 'M_d(T1Gd) over T1Gd', overlayName: 'M_d' }),
    teach.sliceRow({ T1Gd: sequences.t1gd, 'true T1Gd-only voxels': test.truth.unique.t1gd }, 8, { title: 'the truth, for comparison' }),
  ],
  { height: 320 },
);

// %% [markdown]
// ## How good is the map? Voxel-wise AUC against the truth
// AUC = the probability that a random truly-unique voxel scores higher than a random other
// voxel. 0.5 is chance, 1 is perfect. Compare each target's map, and the classic subtraction
// |T1Gd - T1| radiologists use.

// %%
const maps = { t1gd: mdT1gd };
for (const t of ['t1', 't2', 'flair']) maps[t] = await mriseq.differentiationMap(sequences, t, generate);
const aucs = mriseq.mapAucs(maps, test.truth.unique.t1gd.data);
const sub = mriseq.subtractionMap(sequences.t1gd, sequences.t1);
aucs['|T1Gd - T1|'] = mriseq.voxelAuc(sub.data, test.truth.unique.t1gd.data);
await teach.show({
  data: [{ type: 'bar', x: Object.keys(aucs), y: Object.values(aucs), text: Object.values(aucs).map((a) => a.toFixed(2)), textposition: 'auto' }],
  layout: { title: { text: 'AUC of each map for the T1Gd-only voxels' }, yaxis: { range: [0, 1] } },
});

// %% [markdown]
// ## Exercise
// Restrict the question to the lesion: compute the AUC of `mdT1gd` for the T1Gd-only voxels
// **inside the lesion only** and store it in `lesionAuc`. Hint:
// `mriseq.voxelAuc(score, truth, { region })` takes a region (non-zero = included), and
// `test.truth.lesion.data` is non-zero inside the lesion.

// %%
let lesionAuc = null; // your answer, e.g. lesionAuc = mriseq.voxelAuc(...);

// %%
teach.check(
  lesionAuc,
  (a) => Math.abs(a - mriseq.voxelAuc(mdT1gd.data, test.truth.unique.t1gd.data, { region: test.truth.lesion.data })) < 1e-9,
  { ok: 'right: inside the lesion the map must tell enhancing from non-enhancing tissue', hint: 'pass { region: test.truth.lesion.data }' },
);
