/**
 * MR physics of the phantom: tissue properties at 3 T and the signal equations of
 * shared/spec/phantom.md. Times in ms, ADC in mm^2/s, contrast concentration C in mM.
 */

/**
 * Tissue labels of the phantom's tissue map.
 * @example
 * ```ts
 * import { TISSUE, phantom } from 'mriseq';
 * const tissue = phantom({ size: [32, 32, 16] }).subject(0).truth.tissue;
 * console.log(tissue.data.filter((v) => v === TISSUE.csf).length, 'CSF voxels');
 * ```
 */
export const TISSUE = {
  background: 0,
  scalp: 1,
  csf: 2,
  greyMatter: 3,
  whiteMatter: 4,
  oedema: 5,
  necroticCore: 6,
  cellularCore: 7,
} as const;
/**
 * The names of the phantom's tissue labels (keys of {@link TISSUE}).
 *
 * @example
 * ```ts
 * import { TISSUE, type TissueName } from 'mriseq/browser';
 * const t: TissueName = 'oedema';
 * console.log(TISSUE[t]); // 5
 * ```
 */
export type TissueName = keyof typeof TISSUE;
/**
 * Tissue names by label (index = label value of truth.tissue).
 *
 * @example
 * ```ts
 * import { TISSUE_NAMES } from 'mriseq';
 * console.log(TISSUE_NAMES[4]); // 'whiteMatter'
 * ```
 */
export const TISSUE_NAMES: readonly TissueName[] = [
  'background',
  'scalp',
  'csf',
  'greyMatter',
  'whiteMatter',
  'oedema',
  'necroticCore',
  'cellularCore',
];

/**
 * MR properties of one tissue at 3 T.
 *
 * @example
 * ```ts
 * import { spinEcho, type TissueProperties } from 'mriseq/browser';
 * const lesion: TissueProperties = { pd: 0.9, t1: 1700, t2: 150, adc: 1.2e-3 };
 * console.log(spinEcho(lesion.pd, lesion.t1, lesion.t2, 5000, 100));
 * ```
 */
export interface TissueProperties {
  /** Proton density, relative to water. */
  pd: number;
  /** Longitudinal relaxation time, ms. */
  t1: number;
  /** Transverse relaxation time, ms. */
  t2: number;
  /** Apparent diffusion coefficient, mm^2/s. */
  adc: number;
}

/**
 * Typical 3 T values (literature ranges: e.g. Wansapura et al. 1999, Stanisz et al. 2005; lesion
 * values are typical of glioma compartments). Index = tissue label. Background has no signal.
 * @example
 * ```ts
 * import { TISSUE, TISSUE_PROPERTIES } from 'mriseq';
 * const wm = TISSUE_PROPERTIES[TISSUE.whiteMatter];
 * console.log(wm.t1, 'ms', wm.t2, 'ms', wm.adc, 'mm^2/s');
 * ```
 */
export const TISSUE_PROPERTIES: readonly TissueProperties[] = [
  { pd: 0, t1: 1000, t2: 100, adc: 0 },
  { pd: 0.9, t1: 380, t2: 110, adc: 0.5e-3 },
  { pd: 1.0, t1: 4200, t2: 1800, adc: 3.0e-3 },
  { pd: 0.82, t1: 1600, t2: 95, adc: 0.85e-3 },
  { pd: 0.7, t1: 900, t2: 70, adc: 0.75e-3 },
  { pd: 0.88, t1: 1800, t2: 180, adc: 1.5e-3 },
  { pd: 0.95, t1: 3000, t2: 500, adc: 2.4e-3 },
  { pd: 0.85, t1: 1500, t2: 120, adc: 1.0e-3 },
];

/**
 * Gadolinium relaxivity at 3 T, per mM per ms (about 4.5 /mM/s).
 * @example
 * ```ts
 * import { R1_PER_MM_MS, contrastT1 } from 'mriseq/browser';
 * console.log(R1_PER_MM_MS, contrastT1(1500, 0.5)); // T1 of 1500 ms with 0.5 mM contrast
 * ```
 */
export const R1_PER_MM_MS = 4.5e-3;

/**
 * Acquisition parameters of each sequence.
 * TR, TE (and b) in ms (b in s/mm^2).
 *
 * @example
 * ```ts
 * import { SEQUENCE_PARAMETERS } from 'mriseq';
 * console.log(SEQUENCE_PARAMETERS.t2.tr, SEQUENCE_PARAMETERS.dwi.b); // 5000 1000
 * ```
 */
export const SEQUENCE_PARAMETERS = {
  t1: { tr: 500, te: 10 },
  t1gd: { tr: 500, te: 10 },
  t2: { tr: 5000, te: 100 },
  /** FLAIR's TI is set per subject so that the subject's CSF is nulled (see flairNullTI). */
  flair: { tr: 9000, te: 120 },
  dwi: { tr: 5000, te: 80, b: 1000 },
  dce: { tr: 500, te: 10 },
} as const;

/**
 * Spin echo: S = PD (1 - exp(-TR/T1)) exp(-TE/T2).
 * @param pd - Proton density (relative to water).
 * @param t1 - T1 (ms).
 * @param t2 - T2 (ms).
 * @param tr - Repetition time (ms).
 * @param te - Echo time (ms).
 * @returns The signal (PD units).
 * @example
 * ```ts
 * import { SEQUENCE_PARAMETERS, TISSUE, TISSUE_PROPERTIES, spinEcho } from 'mriseq/browser';
 * const wm = TISSUE_PROPERTIES[TISSUE.whiteMatter]!;
 * const { tr, te } = SEQUENCE_PARAMETERS.t1;
 * console.log(spinEcho(wm.pd, wm.t1, wm.t2, tr, te));
 * ```
 */
export function spinEcho(pd: number, t1: number, t2: number, tr: number, te: number): number {
  return pd * (1 - Math.exp(-tr / t1)) * Math.exp(-te / t2);
}

/**
 * Inversion recovery: S = PD |1 - 2 exp(-TI/T1) + exp(-TR/T1)| exp(-TE/T2).
 * @param pd - Proton density.
 * @param t1 - T1 (ms).
 * @param t2 - T2 (ms).
 * @param tr - Repetition time (ms).
 * @param te - Echo time (ms).
 * @param ti - Inversion time (ms).
 * @returns The magnitude signal (PD units).
 * @example
 * ```ts
 * import { flairNullTI, inversionRecovery } from 'mriseq/browser';
 * const ti = flairNullTI(4200, 9000); // null CSF (T1 4200 ms)
 * console.log(inversionRecovery(1, 4200, 1800, 9000, 120, ti)); // about 0
 * ```
 */
export function inversionRecovery(
  pd: number,
  t1: number,
  t2: number,
  tr: number,
  te: number,
  ti: number,
): number {
  return pd * Math.abs(1 - 2 * Math.exp(-ti / t1) + Math.exp(-tr / t1)) * Math.exp(-te / t2);
}

/**
 * The TI that nulls a tissue of longitudinal relaxation t1 at repetition time tr.
 * TI = −T1 · ln((1 + e^(−TR/T1)) / 2).
 *
 * @param t1 - T1 of the tissue to null (ms).
 * @param tr - Repetition time (ms).
 * @returns The inversion time (ms).
 * @example
 * ```ts
 * import { flairNullTI } from 'mriseq/browser';
 * console.log(flairNullTI(4200, 9000).toFixed(0)); // 2445 (ms)
 * ```
 */
export function flairNullTI(t1: number, tr: number): number {
  return -t1 * Math.log((1 + Math.exp(-tr / t1)) / 2);
}

/**
 * Post-contrast T1: 1/T1' = 1/T1 + r1 C.
 * @param t1 - Native T1 (ms).
 * @param c - Contrast concentration (mM).
 * @returns The shortened T1 (ms).
 * @example
 * ```ts
 * import { contrastT1 } from 'mriseq/browser';
 * console.log(contrastT1(1500, 0)); // 1500
 * ```
 */
export function contrastT1(t1: number, c: number): number {
  return 1 / (1 / t1 + R1_PER_MM_MS * c);
}

/**
 * Diffusion weighting: S = S0 exp(-b ADC), with S0 the T2-weighted spin echo.
 * @param pd - Proton density.
 * @param t1 - T1 (ms).
 * @param t2 - T2 (ms).
 * @param adc - Apparent diffusion coefficient (mm²/s).
 * @returns The diffusion-weighted signal at the phantom's TR, TE and b.
 * @example
 * ```ts
 * import { diffusion } from 'mriseq/browser';
 * console.log(diffusion(0.85, 1500, 120, 1.0e-3) > diffusion(0.85, 1500, 120, 2.0e-3)); // true: restricted diffusion is brighter
 * ```
 */
export function diffusion(pd: number, t1: number, t2: number, adc: number): number {
  const p = SEQUENCE_PARAMETERS.dwi;
  return spinEcho(pd, t1, t2, p.tr, p.te) * Math.exp(-p.b * adc);
}
