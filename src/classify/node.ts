/**
 * Node adapter of the downstream models: checkpoints on disk (config JSON + weights JSON, written
 * atomically), Grad-CAM maps as NIfTI in the subject's space, and M_d maps read back from the
 * layout `mriseq maps` writes (`<dir>/<subject>/md_<target>.nii.gz`).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MriseqError } from '../errors/index.js';
import { writeFileAtomicSync } from '../reliability/node.js';
import { readNifti, writeNifti } from '../io/index.js';
import type { Volume } from '../volume/index.js';
import { ResNet3d, type ResNet3dConfig, type SerializedWeights } from './resnet.js';
import { gradCamVolume } from './gradcam.js';
import type { MapProvider } from './downstream.js';

/**
 * Saves a classifier as one JSON file (config + named weights).
 * Written atomically.
 *
 * @param model - The classifier.
 * @param path - The JSON file.
 * @example
 * ```ts
 * import { ResNet3d, loadClassifier, saveClassifier, initEngine } from 'mriseq';
 * await initEngine();
 * const net = new ResNet3d({ inputChannels: ['t1gd'], classNames: ['a', 'b'] });
 * saveClassifier(net, '/tmp/mriseq-classifier.json');
 * loadClassifier('/tmp/mriseq-classifier.json').dispose();
 * net.dispose();
 * ```
 */
export function saveClassifier(model: ResNet3d, path: string): void {
  writeFileAtomicSync(path, JSON.stringify({ format: 'mriseq-resnet3d', version: 1, ...model.serialize() }));
}

/**
 * Loads a classifier saved by {@link saveClassifier}.
 *
 * @param path - The JSON file.
 * @returns The classifier with its weights.
 * @throws {@link MriseqError} when the file cannot be read or is not a classifier checkpoint.
 * @example
 * ```ts
 * import { loadClassifier } from 'mriseq';
 * const net = loadClassifier('runs/downstream/classifier.json');
 * console.log(net.config.classNames);
 * net.dispose();
 * ```
 */
export function loadClassifier(path: string): ResNet3d {
  let data: { format?: string; config?: ResNet3dConfig; weights?: SerializedWeights[] };
  try {
    data = JSON.parse(readFileSync(path, 'utf8')) as typeof data;
  } catch (e) {
    throw new MriseqError('cannot read classifier checkpoint', {
      file: path,
      expected: 'a JSON file written by saveClassifier',
      code: 'classify.checkpoint',
      cause: e,
    });
  }
  if (data.format !== 'mriseq-resnet3d' || !data.config || !data.weights) {
    throw new MriseqError('not a classifier checkpoint', {
      file: path,
      field: 'format',
      found: String(data.format),
      expected: 'mriseq-resnet3d with config and weights',
      code: 'classify.checkpoint',
    });
  }
  return ResNet3d.deserialize({ config: data.config, weights: data.weights });
}

/**
 * Writes a Grad-CAM map (input grid, x fastest) as NIfTI with the reference volume's affine.
 * Written atomically, as float32.
 *
 * @param map - A Grad-CAM map (D·H·W values, x fastest).
 * @param reference - The volume whose grid and affine it takes.
 * @param path - The .nii or .nii.gz file.
 * @throws {@link MriseqError} 'classify.gradcam' when the sizes differ, or when the file cannot be written.
 * @example
 * ```ts
 * import { createVolume, writeGradCamNifti, initEngine } from 'mriseq';
 * await initEngine();
 * const ref = createVolume(new Float32Array(32), [4, 4, 2]);
 * await writeGradCamNifti(new Float32Array(32).fill(0.5), ref, '/tmp/mriseq-gradcam.nii.gz');
 * ```
 */
export async function writeGradCamNifti(map: Float32Array, reference: Volume, path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  await writeNifti(path, gradCamVolume(map, reference));
}

/**
 * M_d maps from a directory in `mriseq maps` layout: `<dir>/<subject>/md_<target>.nii.gz`.
 * @param dir - The output folder of `mriseq maps` (or {@link writeDifferentiationMaps}).
 * @returns A {@link MapProvider} reading `<dir>/<subject>/md_<target>.nii.gz`.
 * @throws {@link MriseqError} (when called) when the map is not found.
 * @example
 * ```ts
 * import { Cohort, compareWithMaps, mapsFromDirectory, initEngine } from 'mriseq';
 * await initEngine();
 * const r = await compareWithMaps(Cohort.fromPhantom({ subjects: 20 }), {
 *   label: 'highEnhancement', sequences: ['t1gd'], mapTargets: ['t1gd'], maps: mapsFromDirectory('runs/demo/analysis/maps'),
 * });
 * console.log(r.aucGain);
 * ```
 */
export function mapsFromDirectory(dir: string): MapProvider {
  return async (subject, target) => {
    const path = join(dir, subject.id, `md_${target}.nii.gz`);
    if (!existsSync(path)) {
      throw new MriseqError('M_d map not found', {
        file: path,
        field: `md:${target}`,
        expected: `<maps dir>/${subject.id}/md_${target}.nii.gz (as written by mriseq maps)`,
        code: 'classify.maps',
      });
    }
    return readNifti(path);
  };
}
