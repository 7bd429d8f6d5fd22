/**
 * Provenance records of commands that write a whole folder at once (classify, cluster, figures):
 * the record holds their inputs; a rerun with other inputs into the same folder is refused (or,
 * with --redo, the previous outputs are removed first), so files of two runs never sit side by
 * side as if one run had written them. See src/reliability/provenance.ts.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import type { Cohort } from '../../cohort/index.js';
import {
  fingerprintJson,
  OutputProvenance,
  recordedOutputs,
  removeOutputFiles,
  type JsonValue,
} from '../../reliability/provenance.js';

export interface FolderRecord {
  /** Call after the outputs are written (paths absolute or relative to the folder). */
  finish(outputs: readonly string[]): void;
}

/**
 * Opens `<out>/<command>.provenance.json` for a run with `inputs`. `known` lists the files the
 * command writes that exist in `out` (relative), so outputs of unknown origin are recognised.
 */
export function openFolderRecord(
  out: string,
  command: string,
  inputs: Record<string, JsonValue>,
  redo: boolean | undefined,
  known: (dir: string) => string[],
): FolderRecord {
  const prov = OutputProvenance.open(join(out, `${command}.provenance.json`), command, inputs, {
    redo,
    hasOutputs: () => known(out).length > 0,
    removeOutputs: (previous) => removeOutputFiles(out, [...recordedOutputs(previous), ...known(out)]),
    what: `the ${command} outputs in ${out}`,
  });
  const before = new Set(prov.record.outputs ?? []);
  return {
    finish: (outputs) => {
      const now = outputs.map((f) => (isAbsolute(f) ? relative(out, f) : f));
      // outputs of the previous run with the same inputs that this one did not write again
      removeOutputFiles(
        out,
        [...before].filter((f) => !now.includes(f)),
      );
      prov.setOutputs(now);
    },
  };
}

/** The existing ones of `names` (relative to dir). */
export function existing(dir: string, names: readonly string[]): string[] {
  return names.filter((n) => existsSync(join(dir, n)));
}

/** What a cohort's data are, cheaply: the stamps of every subject's volumes (file stats or recipe). */
export async function cohortStamp(cohort: Cohort): Promise<string | null> {
  const parts: string[] = [];
  for (const s of cohort.subjects) {
    const st = await cohort.stamp(s.id, s.available, Object.keys(s.masks));
    if (st === undefined) return null;
    parts.push(`${s.id}\n${st}`);
  }
  return fingerprintJson(parts);
}

/** sha256 of a file's bytes, or null when it does not exist. */
export function fileFingerprint(file: string): string | null {
  return existsSync(file) ? createHash('sha256').update(readFileSync(file)).digest('hex') : null;
}
