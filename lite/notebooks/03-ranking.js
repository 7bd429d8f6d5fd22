// %% [markdown]
// # 3. Which sequence matters? Ranking by contribution (C_t, C_d)
//
// Train the generator briefly, then ask it to make every target sequence from every source on
// held-out subjects. A sequence that is **easy to make from the others** holds little unique
// information; one that **no other sequence can reproduce** is irreplaceable. mriseq turns the
// table of synthesis scores into two numbers per sequence:
// - **C_t**: how well this sequence, as a source, predicts the others (useful as an input);
// - **C_d**: how badly the others predict it (its unique information; rank 1 = most unique).
//
// On the phantom we know the answer: only T1Gd sees the contrast agent.

// %%
const teach = await import(new URL('../files/assets/teach.js', document.baseURI).href);
const { report } = await teach.load(); // defines the global `mriseq`
teach.say(report.summary);

// %% [markdown]
// ## A tiny cohort and a brief training (about a minute on a laptop GPU)

// %%
const cohort = mriseq.phantom({ subjects: 11, seed: 0, size: [32, 32, 16] });
const pick = (i) => ({ id: cohort.subject(i).id, volumes: cohort.subject(i).volumes });
const subjects = [0, 1, 2, 3, 4, 5, 6, 7].map(pick);
const model = mriseq.createGenerator('lite', { sequences: cohort.sequences, seed: 0 });
// notebook 2's training loop and live curve in one call; its code: assets/teach.js in the file browser
const { trained, curve } = await teach.train(model, subjects, { steps: teach.param('steps', 60), crop: 32, lr: 1e-3, seed: 0 });

// %%
await teach.show(curve.figure(), { height: 320, note: `trained ${trained.steps} steps, last loss ${trained.finalLoss.total.toFixed(3)}` });

// %% [markdown]
// ## Evaluate every source -> target pair on two held-out subjects, and rank
// For each held-out subject and each target t, the generator makes t from every other sequence;
// PSNR, SSIM and MAE against the real t fill the table. Bootstrap over subjects gives intervals.

// %%
const generate = mriseq.generatorFunction(model);
const held = [9, 10].slice(0, teach.param('held', 2)).map((i) => {
  const s = cohort.subject(i);
  const sequences = Object.fromEntries(Object.entries(s.volumes).map(([k, v]) => [k, mriseq.prepareVolume(v, true)]));
  return { id: s.id, sequences, unique: s.truth.unique.t1gd, lesion: s.truth.lesion };
});
const acceptance = await mriseq.phantomAcceptance(held, generate, { resamples: 200, seed: 0 });
const ranking = acceptance.ranking;
await teach.show(
  [
    mriseq.rankingFigure(ranking.sequences, { title: 'sequence contributions (C_d: unique information)' }),
    mriseq.contributionMatrixFigure(ranking.matrix, { title: 'A[source][target]: how well a source makes a target' }),
  ],
  { height: 420, note: `${acceptance.rows.length} evaluation rows; order by C_d (most unique first): ${ranking.order.join(' > ')}` },
);

// %% [markdown]
// ## The numbers
// C_t and C_d with their bootstrap intervals, and how often each sequence came first.

// %%
teach.say(mriseq.formatRanking(ranking));

// %% [markdown]
// ## Exercise
// 1. Which sequence does the ranking put **first** by C_d? Set `mostUnique` to its name.
// 2. The phantom's design says which sequence *should* be first:
//    `cohort.importanceOrder` lists the designed order, most unique first. With only 60
//    training steps, the two may disagree: that is what the 3000-step recipe is for.

// %%
let mostUnique = null; // your answer, e.g. mostUnique = 't2';

// %%
teach.check(mostUnique, (a) => a === ranking.order[0], {
  ok: 'right: this sequence is the hardest for the others to reproduce',
  hint: 'look at ranking.order or the tallest C_d bar',
});
