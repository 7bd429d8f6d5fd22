/**
 * The one error type for failures a user can act on: bad files, bad manifests, bad arguments.
 * It names where the problem is (file, field), what was found and what was expected, so the CLI
 * can print it as one line and a notebook can show it without a stack trace.
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

export function isMriseqError(e: unknown): e is MriseqError {
  return e instanceof MriseqError;
}
