/**
 * The 4D phantom acceptance (issue 30), the breast study's counterpart of acceptance.test.ts: the
 * lite generator trained on the phantom's T1, T2, DWI and 6-phase DCE (`mriseq train --phantom 204
 * --validation 4 --dwi --dce --sequences t1,t2,dwi,dce --steps 6000 --crop 64`) must recover what
 * only the DCE shows: M_d(DCE), summarised over time (its mean over the post-contrast phases 1-5),
 * marks the DCE's unique mask (where contrast changes any phase) with a lesion-restricted AUC >=
 * 0.9; every other target's M_d scores lower there (specificity); C_d ranks the sequences as the
 * phantom's design says (its importanceOrder restricted to the study: DCE first, T1 last; the
 * middle is not asserted); the DCE's own subtraction (max over phases of |phase_k - phase_0|) is
 * reported beside it, and M_d(DCE) time point by time point.
 *
 * The DCE is scored over its phases after the first (frames 'after-first', in the ranking and in
 * the M_d summary): the first phase is acquired before contrast, a native T1-weighted image the
 * study's T1 already carries, with no contrast and so none of the DCE's unique signal (docs/dce.md,
 * "How a series is scored", has the reasons and both summaries measured). The ranking over every
 * phase is printed beside it.
 *
 * Trains for tens of minutes, so it runs only with MRISEQ_ACCEPTANCE_DCE=1. As the 3D acceptance:
 * MRISEQ_ACCEPTANCE_DCE_RUN=<dir>[,<dir>...] uses trained runs (or trains into a missing one),
 * MRISEQ_ACCEPTANCE_DCE_SEEDS=n trains n fresh seeds from MRISEQ_ACCEPTANCE_DCE_SEED (default 0),
 * MRISEQ_ACCEPTANCE_DCE_STEPS (6000), _TRAIN (200), _TEST (30). Several runs are judged on their
 * average. Held-out subjects start after the training subjects and the 4 validation subjects of
 * `mriseq train --phantom N --validation 4`. The report is printed and saved as
 * <run>/acceptance-dce.json.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEngine, setEngineAdapter } from '../../src/engine/index.js';
import { nodeEngineAdapter } from '../../src/engine/node.js';
import { phantom, type PhantomSequence } from '../../src/phantom/index.js';
import type { Seq2Seq } from '../../src/model/index.js';
import { loadGenerator, trainRun } from '../../src/train/node.js';
import {
  acceptanceRecord,
  averageAcceptance,
  formatAcceptance,
  generatorFunction,
  phantomAcceptance,
  prepareVolume,
  rankSequences,
  type AcceptanceReport,
  type TruthSubject,
} from '../../src/analysis/index.js';
import type { Volume } from '../../src/volume/index.js';

/** The breast study's sequences (the paper's breast set: DCE phases beside T2 and DWI; T1 too). */
const STUDY: PhantomSequence[] = ['t1', 't2', 'dwi', 'dce'];

const enabled = process.env.MRISEQ_ACCEPTANCE_DCE === '1';
const skip = enabled
  ? false
  : '4D phantom acceptance trains the lite generator on DCE for tens of minutes: set MRISEQ_ACCEPTANCE_DCE=1 (and optionally MRISEQ_ACCEPTANCE_DCE_RUN=<run dir> to reuse a trained run)';

test(
  '4D phantom acceptance: M_d(DCE) over time marks the DCE unique mask (lesion AUC >= 0.9), specific; C_d (post-contrast phases) ranks DCE first and T1 last',
  { skip, timeout: 6 * 3600_000 },
  async () => {
    setEngineAdapter(nodeEngineAdapter);
    console.log(`acceptance-dce: engine ${(await initEngine()).summary}`);
    const env = process.env;
    const nTrain = Number(env.MRISEQ_ACCEPTANCE_DCE_TRAIN ?? 200);
    const nTest = Number(env.MRISEQ_ACCEPTANCE_DCE_TEST ?? 30);
    const steps = Number(env.MRISEQ_ACCEPTANCE_DCE_STEPS ?? 6000);
    const seed0 = Number(env.MRISEQ_ACCEPTANCE_DCE_SEED ?? 0);
    const cohort = phantom({ subjects: nTrain + 4 + nTest, seed: 0, dwi: true, dce: true });
    // what the phantom was designed to give, restricted to the study's sequences
    const designed = cohort.importanceOrder.filter((q) => STUDY.includes(q));
    const u = designed[0];
    const last = designed[designed.length - 1];
    assert.deepEqual([u, last], ['dce', 't1'], `the design's order changed: ${designed.join(' > ')}`);
    const pick = (s: { volumes: Partial<Record<string, Volume>> }, normalise: boolean) => {
      const out: Record<string, Volume> = {};
      for (const q of STUDY) {
        const v = s.volumes[q];
        if (v) out[q] = normalise ? prepareVolume(v, true) : v;
      }
      return out;
    };
    const runs = env.MRISEQ_ACCEPTANCE_DCE_RUN
      ? env.MRISEQ_ACCEPTANCE_DCE_RUN.split(',').filter(Boolean)
      : Array.from({ length: Number(env.MRISEQ_ACCEPTANCE_DCE_SEEDS ?? 1) }, () =>
          mkdtempSync(join(tmpdir(), 'mriseq-acceptance-dce-')),
        );
    const held: TruthSubject[] = Array.from({ length: nTest }, (_, k) => {
      const s = cohort.subject(nTrain + 4 + k);
      return { id: s.id, sequences: pick(s, true), unique: s.truth.unique[u]!, lesion: s.truth.lesion };
    });
    const reports: AcceptanceReport[] = [];
    for (const [k, run] of runs.entries()) {
      let model: Seq2Seq;
      if (existsSync(join(run, 'best', 'config.json')) || existsSync(join(run, 'config.json'))) {
        console.log(`acceptance-dce: using the trained run in ${run}`);
        model = loadGenerator(run);
      } else {
        console.log(
          `acceptance-dce: training ${steps} lite steps on ${nTrain} phantom subjects (${STUDY.join(', ')}) into ${run} (seed ${seed0 + k})`,
        );
        // as `mriseq train --phantom N --validation 4`: the 4 subjects after the training ones validate
        const subjects = (a: number, b: number) =>
          Array.from({ length: b - a }, (_, i) => {
            const s = cohort.subject(a + i);
            return { id: s.id, volumes: pick(s, false) };
          });
        const r = await trainRun(subjects(0, nTrain), {
          out: run,
          model: 'lite',
          modelOverrides: { sequences: STUDY, seed: seed0 + k },
          seed: seed0 + k,
          steps,
          crop: 64,
          validation: subjects(nTrain, nTrain + 4),
          // validation happens every tenth of the run: one line each
          onProgress: (e) =>
            e.validationPsnr === undefined ||
            console.log(
              `acceptance-dce: step ${e.step}/${e.steps}, validation PSNR ${e.validationPsnr.toFixed(2)}`,
            ),
        });
        r.model.dispose();
        model = loadGenerator(run);
      }
      assert.deepEqual(
        [...model.config.sequences].sort(),
        [...STUDY].sort(),
        `${run} was trained on ${model.config.sequences.join(', ')}, not the study's sequences`,
      );
      const report = await phantomAcceptance(held, generatorFunction(model), {
        uniqueSequence: u,
        lastSequence: last,
        frames: 'after-first',
        resamples: 1000,
        onSubject: (e) => console.log(`acceptance-dce: ${e.done}/${e.total} ${e.subject}`),
      });
      model.dispose();
      reports.push(report);
      const text = formatAcceptance(report, u);
      // the other summary, for the record: every phase, the pre-contrast one included
      const everyPhase = rankSequences(report.rows, { resamples: 0, frames: 'all' });
      const everyPhaseText = `C_d over every phase (frames 'all'): ${everyPhase.sequences
        .slice()
        .sort((a, b) => a.rank - b.rank)
        .map((s) => `${s.sequence} ${s.C_d.toFixed(3)}`)
        .join(' > ')}`;
      console.log(`${run}:\n${text}\n${everyPhaseText}`);
      writeFileSync(
        join(run, 'acceptance-dce.json'),
        JSON.stringify(
          {
            text,
            ...acceptanceRecord(report, u, last),
            everyPhase: { order: everyPhase.order, sequences: everyPhase.sequences, text: everyPhaseText },
          },
          null,
          1,
        ),
      );
    }
    const avg = averageAcceptance(reports, { uniqueSequence: u, lastSequence: last });
    const text = `averaged over ${avg.runs} run(s): lesion AUC ${JSON.stringify(avg.lesionAuc)}; C_d order ${avg.order.join(' > ')}`;
    console.log(text);
    assert.ok(avg.checks.aucAtLeast, `lesion-restricted AUC of M_d(${u}) below 0.9\n${text}`);
    assert.ok(avg.checks.specific, `another target's M_d scores as high on ${u}'s mask\n${text}`);
    assert.ok(avg.checks.uniqueFirst, `C_d does not rank ${u} first\n${text}`);
    assert.ok(avg.checks.lastLast, `C_d does not rank ${last} last\n${text}`);
  },
);
