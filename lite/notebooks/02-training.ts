// %% [markdown]
// # 02 · Training the Seq2Seq generator in your browser
//
// One network, `G(x_s, code_t)`, turns **any available sequences** of a subject into **any
// target sequence** t: a shared encoder, a ConvLSTM that fuses the sources, and a decoder whose
// convolution kernels are generated from the target's code (hyper-convolutions). Here it trains
// on your own GPU (WebGPU or WebGL; the CPU when there is none), with a loss curve that redraws in
// place. Then it generates a sequence we pretend is missing and measures synthesis quality.
//
// The calls are those of the desktop notebook `notebooks/02-train-generator.ipynb`; the browser
// has no files, so `train` replaces the desktop's `trainRun` (which writes checkpoints).
// Interrupt the kernel (■) to stop training after the step under way: the generator keeps what
// it learnt.

// %% [markdown]
// ## Parameters
// `pretrained = 'phantom-lite'` starts from the project's shipped generator (trained to the
// acceptance on the default phantom) and fine-tunes it; `''` trains from scratch.
// The imports cell names the engine: on a real GPU a step should take well under a second (not
// measured by this project); without one ("SwiftShader" or "cpu") it takes seconds: lower
// `steps` or `size` (e.g. [32, 32, 16]).

// %% [parameters]
const manifest = '';        // '' = the simulated phantom
const subjects = 24;        // phantom subjects (split 70/15/15)
const size = [64, 64, 32];  // phantom volume size [nx, ny, nz] (multiples of 4)
const seed = 0;             // phantom, split and training seed
const steps = 60;           // training steps (the paper-scale recipe uses >= 3000)
const testSubjects = 2;     // held-out subjects evaluated
const pretrained = '';      // '' = from scratch; 'phantom-lite' = fine-tune the shipped generator

// %% [markdown]
// ## Imports and engine

// %%
import { initEngine, Cohort, createGenerator, loadPretrained, train, liveTrainingCurves, display, htmlTable, volumeView, normalizeIntensity, compareVolumes, generate, evaluate, pairMetricsFigure, progressBar } from 'mriseq';
console.log((await initEngine()).summary);

// %% [markdown]
// ## The cohort and its split
// Subjects are split (seeded, stratified) into train / validation / test. The generator never
// sees the test subjects.

// %% [shared] notebooks/02-train-generator.ipynb: // The cohort: the simulated phantom unless

// %% [markdown]
// ## Training, with a live loss curve
// Each step draws a subject, a source s and a target t and a random crop, then minimises
// synthesis, self-reconstruction and cycle-consistency losses. `liveTrainingCurves` shows one
// plot and replaces it in place as the steps arrive (Jupyter's `update_display_data`).

// %%
const loadSubject = async (id: string) => ({ id: id, volumes: await cohort.subject(id).loadAll() });
const trainSet = await Promise.all(trainIds.map(loadSubject));
const validation = await Promise.all(valIds.slice(0, 1).map(loadSubject));
const model = pretrained
  ? await loadPretrained(pretrained)
  : createGenerator('lite', { sequences: [...cohort.sequences], seed: seed });
const curves = liveTrainingCurves({ throttleMs: 1000 });
const t0 = Date.now();
const run = await train(model, trainSet, {
  steps: steps, seed: seed, crop: Math.min(size[0], size[1]), validation: validation, validationCrops: 2,
  onProgress: (e) => curves.push(e),
});
curves.done();
const stepMs = run.history.map((e) => e.stepMs).sort((a, b) => a - b);
console.log(`${run.steps} steps ${pretrained ? 'from the shipped generator' : 'from scratch'} in ${((Date.now() - t0) / 1000).toFixed(0)} s, median ${stepMs[Math.floor(stepMs.length / 2)]?.toFixed(0)} ms/step`);

// %% [markdown]
// ## Generating a missing sequence
// We take a held-out subject, hide its T1Gd and generate it from the others. The output lives in
// the normalised [-1, 1] space, so we compare it with the normalised real scan.

// %%
const subj = cohort.subject(testIds[0]);
const vols = await subj.loadAll();
const have = Object.keys(vols).filter((k) => model.config.sequences.includes(k));
const target = have.includes('t1gd') ? 't1gd' : have[have.length - 1];
const sources = have.filter((k) => k !== target);
const synth = await generate(model, { id: subj.id, volumes: vols }, { sources: sources, target: target });
const real = normalizeIntensity(vols[target]);
console.log(`${subj.id}: ${sources.join(' + ')} -> ${target}`, compareVolumes(real, synth));
display(volumeView(real, { title: `real ${target}`, maxSlices: 12 }));
display(volumeView(synth, { title: `generated ${target}`, maxSlices: 12 }));

// %% [markdown]
// ## Synthesis quality per source → target pair
// `evaluate` generates every target from every single source for each held-out subject: one row
// per (subject, source, target) with PSNR, SSIM and MAE. Notebook 03 ranks the sequences from
// these rows.

// %%
const evalCohort = cohort.filter((e) => e.split !== 'test' || testIds.includes(e.id));
const bar = progressBar(testIds.length, { label: 'evaluate' });
const table = { rows: await evaluate(model, evalCohort, { split: 'test', onSubject: () => bar.tick() }) };
bar.done(`${table.rows.length} rows`);
display(pairMetricsFigure(table.rows));

// %% [shared] notebooks/02-train-generator.ipynb: // Mean PSNR per pair as a source x target table

// %% [markdown]
// ## Exercise
// Did training help? Compute `drop`, the ratio of the mean loss over the first third of the
// steps to the mean loss over the last third (`firstLoss` and `lastLoss` below). A value above 1
// means the loss went down.

// %%
const losses = run.history.map((e) => e.loss.total);
const third = Math.max(1, Math.floor(losses.length / 3));
const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
const firstLoss = mean(losses.slice(0, third));
const lastLoss = mean(losses.slice(-third));
console.log(`mean loss of the first ${third} steps ${firstLoss.toFixed(4)}, of the last ${third} ${lastLoss.toFixed(4)}`);

// %%
let drop: number | null = null; // your answer, e.g. drop = ... ;

// %%
import { check } from 'teach';
check(drop, (d) => Math.abs(d - firstLoss / lastLoss) < 1e-6, {
  ok: `the loss fell ${(firstLoss / lastLoss).toFixed(2)}x`,
  hint: 'divide the first mean by the last mean',
});
