/**
 * The paper's downstream studies as functions (browser-safe), so a notebook, a CLI run and the
 * gated tests that rerun them at the paper profile compute the same thing:
 *
 * - claim 3 (`mapsStudy`): the same classifier on MRI alone, MRI + M_d and MRI + a baseline map,
 *   same subjects and split, with DeLong's paired test of each difference;
 * - claim 2 (`topKStudy`): the top-k sequences by C_d against the full set (one-sided paired
 *   DeLong non-inferiority at a stated margin), the bottom-k as the control that must lose;
 * - seed 2 (`originStudy`): the hierarchical origin classification per input set, with where
 *   Grad-CAM puts its mass (share inside named regions against their share of the volume).
 *
 * Every number is measured on held-out subjects; the datasets come from buildDownstreamDataset.
 */
import { tf } from '../engine/index.js';
import { MriseqError } from '../errors/index.js';
import { extractBox, type Volume } from '../volume/index.js';
import {
  aucDifferenceTest,
  aucNonInferiority,
  type AucDifferenceTest,
  type NonInferiorityResult,
} from '../analysis/index.js';
import {
  downsampleVolume,
  runClassifier,
  runHierarchical,
  selectChannels,
  standardizeChannels,
  type DownstreamDataset,
  type DownstreamRunOptions,
  type HierarchicalRun,
} from './downstream.js';
import type { ClassifierEvaluation } from './metrics.js';
import { GradCam } from './gradcam.js';
import { treeLeaves, type ClassTree } from './hierarchical.js';

/**
 * One classifier of a study: its channels and what it scored on the shared test subjects.
 * @example
 * ```ts
 * import { type ChannelSetRun, type MapsStudyResult } from 'mriseq';
 * declare const study: MapsStudyResult; // from mapsStudy
 * const run: ChannelSetRun = study.withMap;
 * console.log(run.name, run.evaluation.auc, run.evaluation.ci95, run.seconds);
 * ```
 */
export interface ChannelSetRun {
  name: string;
  channels: string[];
  evaluation: ClassifierEvaluation;
  /** P(positive class) per test subject, in `testIds` order. */
  scores: number[];
  epochs: number;
  trainSubjects: number;
  /** Wall-clock seconds of training and scoring. */
  seconds: number;
}

/**
 * What {@link runChannelSets} returns: the shared test subjects, their 0/1 labels and one run per
 * channel set (scores in the same subject order, so any two runs can be compared paired).
 * @example
 * ```ts
 * import { aucDifferenceTest, type ChannelSetsResult } from 'mriseq';
 * declare const r: ChannelSetsResult; // from runChannelSets
 * console.log(aucDifferenceTest(r.labels, r.runs[0].scores, r.runs[1].scores).pTwoSided);
 * ```
 */
export interface ChannelSetsResult {
  testIds: string[];
  /** 0/1 label per test subject (1 = the second class name). */
  labels: number[];
  runs: ChannelSetRun[];
}

/**
 * Progress of a study, reported through `onStage` before each classifier (stage = its name) and
 * once at the end.
 * @example
 * ```ts
 * import { type StudyProgress } from 'mriseq';
 * const onStage = (p: StudyProgress) => console.log(`${p.stage}: ${p.done}/${p.total}`);
 * onStage({ stage: 'MRI', done: 0, total: 3 });
 * ```
 */
export interface StudyProgress {
  stage: string;
  done: number;
  total: number;
}

type RunOptions = DownstreamRunOptions & { onStage?: (p: StudyProgress) => void };

/**
 * Trains the same classifier (same seed, split and settings) on each named channel set of one
 * binary dataset and scores the same held-out subjects.
 * @param data - A binary dataset from {@link buildDownstreamDataset} holding every channel of every set.
 * @param sets - Named channel sets (channel names of `data`).
 * @param options - As {@link runClassifier}, plus `onStage` progress.
 * @returns The shared test subjects, their labels and one run per set.
 * @throws {@link MriseqError} when the label is not binary, or as {@link runClassifier}.
 * @example
 * ```ts
 * import { Cohort, buildDownstreamDataset, runChannelSets, initEngine } from 'mriseq';
 * await initEngine();
 * const d = await buildDownstreamDataset(Cohort.fromPhantom({ subjects: 12, size: [32, 32, 16] }), {
 *   label: 'highEnhancement',
 *   sequences: ['t1', 't1gd'],
 *   downsample: 2,
 * });
 * const r = await runChannelSets(d, [{ name: 'T1', channels: ['t1'] }, { name: 'T1Gd', channels: ['t1gd'] }], {
 *   train: { epochs: 2 },
 *   bootstrap: 100,
 * });
 * console.log(r.testIds, r.runs.map((x) => x.evaluation.auc));
 * ```
 */
export async function runChannelSets(
  data: DownstreamDataset,
  sets: readonly { name: string; channels: readonly string[] }[],
  options: RunOptions = {},
): Promise<ChannelSetsResult> {
  if (data.classNames.length !== 2) {
    throw new MriseqError('a paired AUC study needs a binary label', {
      field: 'label',
      found: `${data.classNames.length} classes (${data.classNames.join(', ')})`,
      expected: 'two classes',
      code: 'classify.binary',
    });
  }
  const runs: ChannelSetRun[] = [];
  let testIds: string[] | undefined;
  for (const [i, set] of sets.entries()) {
    options.onStage?.({ stage: set.name, done: i, total: sets.length });
    const t0 = Date.now();
    const r = await runClassifier(set.name, selectChannels(data, set.channels), options);
    if (testIds && r.testIds.join() !== testIds.join()) {
      // runClassifier's split depends only on the labels and the seed: never expected to differ.
      throw new Error('internal: channel sets were scored on different subjects');
    }
    testIds = r.testIds;
    runs.push({
      name: set.name,
      channels: r.channels,
      evaluation: r.evaluation,
      scores: r.probabilities.map((p) => p[1]),
      epochs: r.epochs,
      trainSubjects: r.trainSubjects,
      seconds: (Date.now() - t0) / 1000,
    });
    r.model.dispose();
  }
  options.onStage?.({ stage: 'done', done: sets.length, total: sets.length });
  const ids = testIds ?? [];
  return { testIds: ids, labels: ids.map((id) => data.labels[data.ids.indexOf(id)]), runs };
}

/**
 * Options of {@link mapsStudy}: the MRI channels, the M_d channel and an optional baseline map
 * channel, plus the classifier options of {@link runClassifier} and `onStage`.
 * @example
 * ```ts
 * import { type MapsStudyOptions } from 'mriseq';
 * const o: MapsStudyOptions = {
 *   sequences: ['t1', 't1gd', 't2', 'flair'],
 *   mapChannel: 'md:t1gd',
 *   baselineChannel: '|t1gd-t1|',
 *   seed: 1,
 *   standardize: true,
 *   train: { epochs: 20 },
 * };
 * console.log(o.sequences.length);
 * ```
 */
export interface MapsStudyOptions extends RunOptions {
  /** The MRI channels (sequences). */
  sequences: readonly string[];
  /** The M_d channel (default 'md:t1gd'). */
  mapChannel?: string;
  /** A baseline map channel (e.g. '|t1gd-t1|'), trained the same way; omitted when absent. */
  baselineChannel?: string;
}

/**
 * What {@link mapsStudy} returns: the three runs and DeLong's paired tests of their differences.
 * @example
 * ```ts
 * import { type MapsStudyResult } from 'mriseq';
 * declare const r: MapsStudyResult;
 * const t = r.tests.mapVsMri;
 * console.log(r.mri.evaluation.auc, r.withMap.evaluation.auc, t.difference, t.ci95, t.pBGreater);
 * ```
 */
export interface MapsStudyResult extends ChannelSetsResult {
  mri: ChannelSetRun;
  withMap: ChannelSetRun;
  withBaseline?: ChannelSetRun;
  /** DeLong paired tests; B is the second named: B > A is the alternative of pBGreater. */
  tests: {
    mapVsMri: AucDifferenceTest;
    baselineVsMri?: AucDifferenceTest;
    mapVsBaseline?: AucDifferenceTest;
  };
}

/**
 * Claim 3: MRI alone vs MRI + M_d (and MRI + a baseline map), the same classifier, seed and split,
 * with DeLong's paired tests of the differences (B > A is the one-sided alternative).
 * @param data - A binary dataset with the sequences, the map channel and the baseline channel.
 * @param options - The channels, and the classifier options of {@link runClassifier}.
 * @returns The three runs and the paired tests.
 * @throws {@link MriseqError} as {@link runChannelSets}.
 * @example
 * ```ts
 * import { Cohort, buildDownstreamDataset, mapsStudy, subtractionMapProvider, initEngine } from 'mriseq';
 * await initEngine();
 * const d = await buildDownstreamDataset(Cohort.fromPhantom({ subjects: 12, size: [32, 32, 16] }), {
 *   label: 'highEnhancement',
 *   sequences: ['t1', 't2'],
 *   extraMaps: [{ name: '|t1gd-t1|', map: (s) => subtractionMapProvider('t1gd', 't1')(s, 't1gd') }],
 *   downsample: 2,
 * });
 * // The subtraction stands in for M_d here; with a generator, add `maps` and `mapTargets: ['t1gd']`.
 * const r = await mapsStudy(d, { sequences: ['t1', 't2'], mapChannel: '|t1gd-t1|', train: { epochs: 2 }, bootstrap: 100 });
 * console.log(r.tests.mapVsMri.difference, r.tests.mapVsMri.pBGreater);
 * ```
 */
export async function mapsStudy(
  data: DownstreamDataset,
  options: MapsStudyOptions,
): Promise<MapsStudyResult> {
  const map = options.mapChannel ?? 'md:t1gd';
  const mri = [...options.sequences];
  const sets = [
    { name: 'MRI', channels: mri },
    { name: `MRI + ${map}`, channels: [...mri, map] },
    ...(options.baselineChannel
      ? [{ name: `MRI + ${options.baselineChannel}`, channels: [...mri, options.baselineChannel] }]
      : []),
  ];
  const r = await runChannelSets(data, sets, options);
  const [a, b, c] = r.runs;
  return {
    ...r,
    mri: a,
    withMap: b,
    withBaseline: c,
    tests: {
      mapVsMri: aucDifferenceTest(r.labels, a.scores, b.scores),
      baselineVsMri: c ? aucDifferenceTest(r.labels, a.scores, c.scores) : undefined,
      mapVsBaseline: c ? aucDifferenceTest(r.labels, c.scores, b.scores) : undefined,
    },
  };
}

/**
 * Options of {@link topKStudy}: the C_d order, k, the non-inferiority margin and level, plus the
 * classifier options of {@link runClassifier} and `onStage`.
 * @example
 * ```ts
 * import { type TopKStudyOptions } from 'mriseq';
 * const o: TopKStudyOptions = { order: ['t1gd', 'flair', 't2', 't1'], k: 2, margin: 0.05, alpha: 0.05, seed: 1 };
 * console.log(o.order.slice(0, o.k));
 * ```
 */
export interface TopKStudyOptions extends RunOptions {
  /** Sequences ranked by C_d, most important first (e.g. a SequenceRanking's `order`). */
  order: readonly string[];
  k: number;
  /** Non-inferiority margin on the AUC (the largest acceptable loss). */
  margin: number;
  /** One-sided level (default 0.05). */
  alpha?: number;
}

/**
 * What {@link topKStudy} returns: the full, top-k and bottom-k runs, the non-inferiority tests of
 * both subsets against the full set and the control's one-sided DeLong test.
 * @example
 * ```ts
 * import { type TopKStudyResult } from 'mriseq';
 * declare const r: TopKStudyResult;
 * console.log(r.topTest.nonInferior, r.topTest.lowerBound, r.bottomInferior, r.bottomVsFull.difference);
 * ```
 */
export interface TopKStudyResult extends ChannelSetsResult {
  full: ChannelSetRun;
  top: ChannelSetRun;
  bottom: ChannelSetRun;
  /** Top-k against the full set: non-inferior when the one-sided lower bound exceeds -margin. */
  topTest: NonInferiorityResult;
  bottomTest: NonInferiorityResult;
  /** Paired DeLong of bottom-k against the full set (A = full, B = bottom). */
  bottomVsFull: AucDifferenceTest;
  /** The control comes out inferior: bottom-k's AUC is significantly below the full set's (one-sided, alpha). */
  bottomInferior: boolean;
}

/**
 * Claim 2: top-k by C_d non-inferior to the full set (one-sided paired DeLong at `margin`), with
 * the bottom-k as the control that must come out inferior. Same classifier, seed and split for all three.
 * @param data - A binary dataset with every sequence of `order` as a channel.
 * @param options - The order by C_d, k, margin, alpha, and the classifier options.
 * @returns The three runs, both non-inferiority tests and the control's verdict.
 * @throws {@link MriseqError} when k is not in 1..order.length - 1, or as {@link runChannelSets}.
 * @example
 * ```ts
 * import { Cohort, buildDownstreamDataset, topKStudy, initEngine } from 'mriseq';
 * await initEngine();
 * const order = ['t1gd', 'flair', 't2', 't1']; // e.g. rankSequences(...).order
 * const d = await buildDownstreamDataset(Cohort.fromPhantom({ subjects: 12, size: [32, 32, 16] }), {
 *   label: 'highEnhancement',
 *   sequences: order,
 *   downsample: 2,
 * });
 * const r = await topKStudy(d, { order, k: 2, margin: 0.1, train: { epochs: 2 }, bootstrap: 100 });
 * console.log(r.topTest.nonInferior, r.bottomInferior);
 * ```
 */
export async function topKStudy(
  data: DownstreamDataset,
  options: TopKStudyOptions,
): Promise<TopKStudyResult> {
  const k = options.k;
  if (!(Number.isInteger(k) && k >= 1 && k < options.order.length)) {
    throw new MriseqError('k out of range', {
      field: 'k',
      found: String(k),
      expected: `an integer in 1..${options.order.length - 1}`,
      code: 'classify.k',
    });
  }
  const alpha = options.alpha ?? 0.05;
  const full = [...options.order];
  const top = full.slice(0, k);
  const bottom = full.slice(-k);
  const r = await runChannelSets(
    data,
    [
      { name: 'full set', channels: full },
      { name: `top-${k}`, channels: top },
      { name: `bottom-${k}`, channels: bottom },
    ],
    options,
  );
  const [f, t, b] = r.runs;
  const ni = { margin: options.margin, alpha, method: 'delong' as const };
  const bottomVsFull = aucDifferenceTest(r.labels, f.scores, b.scores);
  return {
    ...r,
    full: f,
    top: t,
    bottom: b,
    topTest: aucNonInferiority(r.labels, f.scores, t.scores, ni),
    bottomTest: aucNonInferiority(r.labels, f.scores, b.scores, ni),
    bottomVsFull,
    // One-sided: H0 AUC_bottom >= AUC_full; 1 - pBGreater is P(z <= observed).
    bottomInferior: 1 - bottomVsFull.pBGreater < alpha,
  };
}

/**
 * Options of {@link originStudy}: the channel sets compared, the named regions Grad-CAM is scored
 * in, and how the dataset was cut and pooled (to bring the regions onto its grid).
 * @example
 * ```ts
 * import { Cohort, type OriginStudyOptions } from 'mriseq';
 * const cohort = Cohort.fromPhantom({ subjects: 8, size: [32, 32, 16] });
 * const o: OriginStudyOptions = {
 *   inputs: [['t1'], ['t2'], ['t1', 't1gd', 't2', 'flair']],
 *   regions: async (id) => ({ lesion: await cohort.subject(id).mask('lesion') }),
 *   downsample: 1,
 *   roiSize: [16, 16, 8],
 * };
 * console.log(o.inputs.length);
 * ```
 */
export interface OriginStudyOptions extends RunOptions {
  /** Channel sets compared (each runs the whole tree); the widest is explained by Grad-CAM. */
  inputs: readonly (readonly string[])[];
  /**
   * Named binary maps of a subject on its original grid (e.g. { lesion, 'necrotic core' }): the
   * Grad-CAM mass inside each is reported against its share of the volume. Needs `roiOrigins`
   * when the dataset is a region of interest.
   */
  regions?: (id: string) => Promise<Record<string, Volume>>;
  /** Integer pooling the dataset was built with (to bring the region maps onto its grid; default 1). */
  downsample?: number;
  /** Region-of-interest box size of the dataset, when it has one. */
  roiSize?: readonly [number, number, number];
}

/**
 * Where Grad-CAM puts its mass: per named region, the mean share of the map's mass inside it
 * against the region's mean share of the input volume (looking there more than by chance when the
 * first is well above the second).
 * @example
 * ```ts
 * import { type RegionShare } from 'mriseq';
 * declare const r: RegionShare; // from originStudy(...).gradcam.regions
 * console.log(`${r.region}: ${r.meanShare.toFixed(2)} of the mass in ${r.meanVolumeShare.toFixed(2)} of the volume (${r.subjects} subjects)`);
 * ```
 */
export interface RegionShare {
  region: string;
  /** Subjects whose map has this region (a solid lesion has no necrotic core). */
  subjects: number;
  /** Mean over subjects of (Grad-CAM mass inside the region) / (total mass). */
  meanShare: number;
  /** Mean over subjects of the region's share of the classifier's input volume. */
  meanVolumeShare: number;
  /** Per subject, in `ids` order. */
  shares: number[];
  volumeShares: number[];
  ids: string[];
}

/**
 * What {@link originStudy} returns: one hierarchical run per input set, and the Grad-CAM of the
 * widest input's root classifier (region shares and example maps).
 * @example
 * ```ts
 * import { type OriginStudyResult } from 'mriseq';
 * declare const r: OriginStudyResult;
 * for (const x of r.runs) console.log(x.input, x.run.groupAuc.auc, x.run.leafAuc.auc);
 * console.log(r.gradcam?.regions.map((g) => [g.region, g.meanShare]));
 * ```
 */
export interface OriginStudyResult {
  runs: { input: string; channels: string[]; run: HierarchicalRun; seconds: number }[];
  /** Grad-CAM of the widest input's root (group) classifier on every test subject. */
  gradcam?: {
    input: string;
    layer: string;
    regions: RegionShare[];
    /** Maps of the first few test subjects (for figures), with their predicted and true group. */
    examples: { id: string; map: Float32Array; predicted: string; truth: string }[];
  };
}

/**
 * Seed 2: the hierarchy trained on each input set (same seed and split); Grad-CAM of the widest
 * input's root (group) classifier on every test subject, with its mass in the named regions.
 * @param data - A dataset whose label is the tree's leaves, holding every channel of every input set.
 * @param tree - The class tree (see {@link treeFromGroups}).
 * @param options - The input sets, the regions, `examples` (maps kept for figures, default 2) and the classifier options.
 * @returns The runs and the Grad-CAM summary.
 * @throws {@link MriseqError} as {@link runHierarchical}, or when a region map does not fit the dataset's grid.
 * @example
 * ```ts
 * import { Cohort, LESION_HIERARCHY, buildDownstreamDataset, originStudy, treeFromGroups, initEngine } from 'mriseq';
 * await initEngine();
 * const cohort = Cohort.fromPhantom({ subjects: 16, size: [32, 32, 16] });
 * const roiSize: [number, number, number] = [16, 16, 8];
 * const d = await buildDownstreamDataset(cohort, { label: 'lesionType', sequences: ['t1', 't2'], roi: { mask: 'lesion', size: roiSize } });
 * const r = await originStudy(d, treeFromGroups('lesion', LESION_HIERARCHY), {
 *   inputs: [['t1'], ['t1', 't2']],
 *   regions: async (id) => ({ lesion: await cohort.subject(id).mask('lesion') }),
 *   roiSize,
 *   standardize: true,
 *   train: { epochs: 2 },
 *   bootstrap: 100,
 * });
 * console.log(r.runs.map((x) => x.run.groupAuc.auc), r.gradcam?.regions);
 * for (const x of r.runs) x.run.classifier.dispose();
 * ```
 */
export async function originStudy(
  data: DownstreamDataset,
  tree: ClassTree,
  options: OriginStudyOptions & { examples?: number },
): Promise<OriginStudyResult> {
  const runs: OriginStudyResult['runs'] = [];
  for (const [i, set] of options.inputs.entries()) {
    options.onStage?.({ stage: set.join('+'), done: i, total: options.inputs.length });
    const t0 = Date.now();
    const run = await runHierarchical(selectChannels(data, set), tree, options);
    runs.push({ input: set.join('+'), channels: [...set], run, seconds: (Date.now() - t0) / 1000 });
  }
  options.onStage?.({ stage: 'Grad-CAM', done: options.inputs.length, total: options.inputs.length });
  const widest = runs.reduce((a, b) => (b.channels.length > a.channels.length ? b : a));
  const root = widest.run.classifier.models.get(tree.name);
  let gradcam: OriginStudyResult['gradcam'];
  if (root) {
    const picked = selectChannels(data, widest.channels);
    const st = widest.run.standardization;
    const d = st ? standardizeChannels(picked, st) : picked;
    const [D, H, W, C] = d.shape;
    const cam = new GradCam(root);
    const leaves = treeLeaves(tree);
    const groupOf = (leaf: string) => tree.children!.find((g) => treeLeaves(g).includes(leaf))!.name;
    const maps: Float32Array[] = [];
    const predicted: number[] = [];
    const testIdx = widest.run.testIds.map((id) => d.ids.indexOf(id));
    for (let s = 0; s < testIdx.length; s += 4) {
      const idx = testIdx.slice(s, s + 4);
      const x = tf.tensor5d(Float32Array.from(idx.flatMap((i) => Array.from(d.inputs[i]))), [
        idx.length,
        D,
        H,
        W,
        C,
      ]);
      const r = cam.compute(x);
      x.dispose();
      maps.push(...r.maps);
      predicted.push(...r.classIndex);
    }
    const regions: Map<string, RegionShare> = new Map();
    if (options.regions) {
      for (const [j, i] of testIdx.entries()) {
        const id = d.ids[i];
        const named = await options.regions(id);
        for (const [name, vol] of Object.entries(named)) {
          const onGrid = regionOnGrid(vol, d, i, options);
          let inside = 0;
          let total = 0;
          let voxels = 0;
          let any = false;
          for (let v = 0; v < onGrid.length; v++) {
            total += maps[j][v];
            if (onGrid[v] >= 0.5) {
              inside += maps[j][v];
              voxels++;
              any = true;
            }
          }
          if (!any) continue;
          const e = regions.get(name) ?? {
            region: name,
            subjects: 0,
            meanShare: 0,
            meanVolumeShare: 0,
            shares: [],
            volumeShares: [],
            ids: [],
          };
          e.shares.push(total > 0 ? inside / total : 0);
          e.volumeShares.push(voxels / onGrid.length);
          e.ids.push(id);
          regions.set(name, e);
        }
      }
    }
    for (const e of regions.values()) {
      e.subjects = e.shares.length;
      e.meanShare = e.shares.reduce((a, b) => a + b, 0) / e.subjects;
      e.meanVolumeShare = e.volumeShares.reduce((a, b) => a + b, 0) / e.subjects;
    }
    const nEx = Math.min(options.examples ?? 2, testIdx.length);
    gradcam = {
      input: widest.input,
      layer: cam.layer,
      regions: [...regions.values()],
      examples: testIdx.slice(0, nEx).map((i, j) => ({
        id: d.ids[i],
        map: maps[j],
        predicted: root.config.classNames[predicted[j]],
        truth: groupOf(leaves[widest.run.testLabels[j]]),
      })),
    };
  }
  return { runs, gradcam };
}

/** A subject's binary region map cut and pooled like the dataset (fraction inside per voxel). */
function regionOnGrid(
  region: Volume,
  d: DownstreamDataset,
  i: number,
  options: { downsample?: number; roiSize?: readonly [number, number, number] },
): Float32Array {
  let v: Volume = { ...region, data: Float32Array.from(region.data, (x) => (x > 0 ? 1 : 0)) };
  if (d.roiOrigins) {
    if (!options.roiSize) {
      throw new MriseqError('the dataset is a region of interest but the study was not told its size', {
        field: 'roiSize',
        found: 'undefined',
        expected: 'the roi.size the dataset was built with',
        code: 'classify.roi',
      });
    }
    v = extractBox(v, d.roiOrigins[i], options.roiSize, 0);
  }
  const out = downsampleVolume(v, options.downsample ?? 1).data;
  const [D, H, W] = d.shape;
  if (out.length !== D * H * W) {
    throw new MriseqError('the region map does not fit the dataset grid', {
      file: d.ids[i],
      field: 'regions',
      found: `${out.length} voxels`,
      expected: `${D * H * W} (${W}x${H}x${D})`,
      code: 'classify.grid',
    });
  }
  return out;
}
