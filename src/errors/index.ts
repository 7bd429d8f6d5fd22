/**
 * Where and what went wrong, as given to the {@link MriseqError} constructor; each field is
 * optional and becomes part of the one-line message.
 *
 * @example
 * ```ts
 * import { MriseqError, type MriseqErrorInfo } from 'mriseq';
 * const info: MriseqErrorInfo = { file: 'scan.nii.gz', field: 'dim[0]', found: '7', expected: '3 or 4' };
 * console.log(new MriseqError('unsupported dimensionality', info).message);
 * // scan.nii.gz: dim[0]: unsupported dimensionality; found 7; expected 3 or 4
 * ```
 */
export interface MriseqErrorInfo {
  /** The file (or URL, or manifest) the problem is in. */
  file?: string;
  /** The header field, manifest column/row, option or tensor the problem is in. */
  field?: string;
  /** What was found there. */
  found?: string;
  /** What was expected there. */
  expected?: string;
  /** A stable machine-readable code, e.g. 'nifti.truncated'. */
  code?: string;
  /** The underlying error, kept for --debug. */
  cause?: unknown;
}

/**
 * The one error type for failures a user can act on: bad files, bad manifests, bad arguments.
 * It names where the problem is (file, field), what was found and what was expected, so the CLI
 * can print it as one line and a notebook can show it without a stack trace. Every documented
 * "throws" in this API is a MriseqError; `code` tells the kinds apart (e.g. 'engine.unknown-backend';
 * 'error' when the thrower gave none).
 *
 * @example
 * ```ts
 * import { MriseqError, readNifti } from 'mriseq';
 * try {
 *   await readNifti('/no/such/file.nii.gz');
 * } catch (e) {
 *   if (e instanceof MriseqError) console.log(e.code, e.file, e.message);
 *   else throw e;
 * }
 * ```
 */
export class MriseqError extends Error {
  readonly file?: string;
  readonly field?: string;
  readonly found?: string;
  readonly expected?: string;
  readonly code: string;

  constructor(problem: string, info: MriseqErrorInfo = {}) {
    super(MriseqError.format(problem, info), info.cause === undefined ? undefined : { cause: info.cause });
    this.name = 'MriseqError';
    this.file = info.file;
    this.field = info.field;
    this.found = info.found;
    this.expected = info.expected;
    this.code = info.code ?? 'error';
  }

  private static format(problem: string, info: MriseqErrorInfo): string {
    const where = [info.file, info.field].filter((s) => s !== undefined && s !== '').join(': ');
    const parts = [where ? `${where}: ${problem}` : problem];
    if (info.found !== undefined) parts.push(`found ${info.found}`);
    if (info.expected !== undefined) parts.push(`expected ${info.expected}`);
    return parts.join('; ');
  }
}

/**
 * Whether `e` is a {@link MriseqError} (a problem the user can fix, printed as one line), as
 * opposed to a bug or an interruption.
 *
 * @param e - Anything caught.
 * @returns True when `e` is a MriseqError; then TypeScript narrows it.
 * @example
 * ```ts
 * import { isMriseqError, createVolume } from 'mriseq';
 * try {
 *   createVolume(new Float32Array(5), [2, 2, 2]);
 * } catch (e) {
 *   console.log(isMriseqError(e) ? `fix the input: ${e.message}` : 'a bug');
 * }
 * ```
 */
export function isMriseqError(e: unknown): e is MriseqError {
  return e instanceof MriseqError;
}
