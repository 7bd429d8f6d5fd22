// %% [markdown]
// # 04 · Where is the unique information? Imaging-differentiation maps M_d
//
// The ranking says *which* sequence is irreplaceable; the map says *where*. For a target t,
//
// **M_d(t) = mean over every available source s of |G(x_s, code_t) − x_t|**
//
// i.e. the voxels no source can reproduce. On the phantom these should be the enhancing lesion
// voxels of T1Gd (its unique mask). This notebook computes M_d for held-out subjects, overlays it
// on the anatomy and scores it against the truth with a voxel AUC, next to the classical
// subtraction |T1Gd − T1|. The calls are those of `notebooks/04-differentiation-maps.ipynb`.

// %% [markdown]
// ## Parameters
// `pretrained = 'phantom-lite'` uses the shipped generator on subjects it never saw; `''` trains
// one here first.

// %% [parameters]
const manifest = '';               // '' = the simulated phantom
const subjects = 24;               // phantom subjects
const size = [64, 64, 32];         // phantom volume size [nx, ny, nz]
const seed = 0;                    // phantom, split and training seed
const steps = 60;                  // training steps, only used when pretrained = ''
const testSubjects = 2;            // held-out subjects mapped (each costs ~16 generations)
const uniqueMask = 'unique_t1gd';  // (manifests only) mask with the truth of T1Gd's unique voxels
const lesionMask = 'lesion';       // (manifests only) mask of the lesion
const pretrained = 'phantom-lite'; // the shipped generator to use ('' = train one here)

// %%
import { initEngine, Cohort, createGenerator, loadPretrained, pretrainedCohort, train, liveTrainingCurves, generatorFunction, differentiationMaps, subtractionMap, mapAucs, voxelAuc, regionStatistics, normalizeIntensity, display, htmlTable, volumeView, differentiationMapFigure, progressBar, type Volume } from 'mriseq';
console.log((await initEngine()).summary);

// %% [markdown]
// ## Cohort and generator

// %% [shared] lite/notebooks/03-ranking.ts: // The cohort: the simulated phantom (this browser kernel

// %% [shared] lite/notebooks/03-ranking.ts: // The shipped generator, or a brief training here

// %% [markdown]
// ## Truth
// The phantom gives the unique mask and the lesion labels of every subject.

// %% [shared] notebooks/04-differentiation-maps.ipynb: async function truthOf(

// %% [markdown]
// ## Maps for the held-out subjects
// Sequences are normalised as the spec says (clip to [0, 2·p99], scale to [-1, 1]); each subject
// costs one generation per (source, target) pair.

// %% [shared] notebooks/04-differentiation-maps.ipynb: const gen = generatorFunction(model);

// %% [markdown]
// ## Overlays
// M_d(T1Gd) over T1Gd (hot colours: voxels no source reproduces), next to the truth mask.

// %% [shared] notebooks/04-differentiation-maps.ipynb: const r0 = results[0];

// %% [markdown]
// ## Scoring against the truth
// The AUC of each M_d(t) as a detector of T1Gd's unique voxels, inside the lesion (the hard
// test) and head-wide, and the subtraction baseline. 0.5 is chance, 1 is perfect.

// %% [shared] notebooks/04-differentiation-maps.ipynb: const rows: Record<string, string | number>[] = [];

// %% [markdown]
// ## Exercise
// Compute the AUC of the first subject's M_d(T1Gd) for the T1Gd-only voxels **inside the lesion
// only** and store it in `lesionAuc`. Hint: `voxelAuc(score, truth, { region })` takes a region
// (non-zero = included); `results[0].lesion!.data` is non-zero inside the lesion.

// %%
let lesionAuc: number | null = null; // your answer, e.g. lesionAuc = voxelAuc(...);

// %%
import { check } from 'teach';
check(
  lesionAuc,
  (a) => Math.abs(a - voxelAuc(results[0].maps.t1gd.data, results[0].unique!.data, { region: results[0].lesion!.data })) < 1e-9,
  { ok: 'right: inside the lesion the map must tell enhancing from non-enhancing tissue', hint: 'pass { region: results[0].lesion!.data }' },
);
