// %% [markdown]
// # 2. Training the generator in your browser
//
// The Seq2Seq generator learns to turn **any** available MRI sequence into **any** target
// sequence. Here it trains on a tiny simulated cohort, on your own GPU through WebGL (or the
// CPU when there is none). Nothing is installed: the model, the phantom and the training loop
// are mriseq's computing core compiled for the browser.
//
// Run the cells one by one (Shift+Enter).

// %%
// Load mriseq and plotly.js from this site and start the tensor engine.
const teach = await import(new URL('../files/assets/teach.js', document.baseURI).href);
const { report } = await teach.load(); // defines the global `mriseq`
teach.say(report.summary);

// %% [markdown]
// ## A tiny cohort
// 8 training subjects and 1 validation subject of 32 x 32 x 16 voxels, with four sequences
// (T1, T1Gd, T2, FLAIR). The phantom is physics-based: each tissue has T1, T2 and proton density,
// each sequence has TR/TE/TI, and lesions enhance after gadolinium.

// %%
const cohort = mriseq.phantom({ subjects: 9, seed: 0, size: [32, 32, 16] });
const subjects = Array.from({ length: 8 }, (_, i) => {
  const s = cohort.subject(i);
  return { id: s.id, volumes: s.volumes };
});
const validation = [{ id: cohort.subject(8).id, volumes: cohort.subject(8).volumes }];
teach.say(`${subjects.length} training subjects, sequences: ${cohort.sequences.join(', ')}`);

// %% [markdown]
// ## The generator
// The lite preset: a convolutional encoder, a *hyper-network* whose weights depend on the code of
// the target sequence, and a decoder. Every step draws a random subject, a random source and a
// random target sequence, and a random crop.

// %%
const model = mriseq.createGenerator('lite', { sequences: cohort.sequences, seed: 0 });
const nParams = [...model.variables.values()].reduce((n, v) => n + v.size, 0);
teach.say(`lite generator: ${nParams.toLocaleString()} parameters`);

// %% [markdown]
// ## Train, watching the loss
// 60 steps take a minute or two on a laptop's integrated GPU (add `&steps=20` to the page
// address for fewer). The curve is redrawn as it goes.

// %%
const steps = teach.param('steps', 60);
const curve = teach.liveCurve({ every: 10, title: 'training loss (total)' });
const result = await (async () => {
  const it = mriseq.trainSteps(model, subjects, {
    steps,
    crop: 32,
    lr: 1e-3,
    seed: 0,
    validation,
    validationCrops: 2,
    validateEvery: Math.max(1, Math.floor(steps / 3)),
  });
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
    await curve.push(r.value);
  }
})();
const losses = result.history.map((e) => e.loss.total);
const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
const third = Math.max(1, Math.floor(losses.length / 3));
const firstLoss = mean(losses.slice(0, third));
const lastLoss = mean(losses.slice(-third));
await curve.done();

// %% [markdown]
// The curve as saved with the notebook, and the summary.

// %%
await teach.show(curve.figure(), {
  height: 320,
  note: `done: mean loss of the first ${third} steps ${firstLoss.toFixed(3)}, of the last ${third} ${lastLoss.toFixed(3)}; best validation PSNR ${result.bestPsnr?.toFixed(2)} dB`,
});

// %% [markdown]
// ## Look at what it learnt
// Translate the validation subject's T1 into T2 and compare with the real T2.

// %%
const norm = (v) => mriseq.prepareVolume(v, true);
const val = Object.fromEntries(Object.entries(validation[0].volumes).map(([k, v]) => [k, norm(v)]));
const generate = mriseq.generatorFunction(model);
const out = await generate({ t1: val.t1 }, 't2', val.t2);
const fakeT2 = { data: out.data ?? out, shape: val.t2.shape };
const z = 8;
await teach.show(
  {
    data: [
      { type: 'heatmap', z: mriseq.axialSlice(val.t1, z), colorscale: 'Greys', showscale: false, xaxis: 'x', yaxis: 'y' },
      { type: 'heatmap', z: mriseq.axialSlice(fakeT2, z), colorscale: 'Greys', showscale: false, xaxis: 'x2', yaxis: 'y2' },
      { type: 'heatmap', z: mriseq.axialSlice(val.t2, z), colorscale: 'Greys', showscale: false, xaxis: 'x3', yaxis: 'y3' },
    ],
    layout: {
      title: { text: 'T1 (input)  |  generated T2  |  real T2' },
      grid: { rows: 1, columns: 3, pattern: 'independent' },
      ...Object.fromEntries([1, 2, 3].flatMap((i) => [[`xaxis${i > 1 ? i : ''}`, { visible: false }], [`yaxis${i > 1 ? i : ''}`, { visible: false, scaleanchor: `x${i > 1 ? i : ''}` }]])),
    },
  },
  { height: 300, note: `PSNR of the generated T2: ${mriseq.psnr(fakeT2.data, val.t2.data, { dataRange: 2 }).toFixed(2)} dB` },
);

// %% [markdown]
// ## Exercise
// Did training help? Compute `drop`, the ratio of the mean loss over the first third of the
// steps to the mean loss over the last third (`firstLoss` and `lastLoss` are already defined). A value
// above 1 means the loss went down.

// %%
let drop = null; // your answer, e.g. drop = ... ;

// %%
teach.check(drop, (d) => Math.abs(d - firstLoss / lastLoss) < 1e-6, {
  ok: `the loss fell ${(firstLoss / lastLoss).toFixed(2)}x`,
  hint: 'divide the first mean by the last mean',
});
