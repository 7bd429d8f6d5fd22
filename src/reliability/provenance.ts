/**
 * What produced an output (Node only). Every resumable output (a table, a folder of per-subject
 * files) carries a small provenance record, written atomically beside it:
 *   { format, command, inputs: { model fingerprint, options that change results, ... },
 *     subjects: { <id>: { data: sha256 of the volumes used, stamp: cheap identity, outputs } } }
 * A rerun with other inputs is refused, naming the record and what differs, unless the caller
 * asked to redo (then the previous outputs are removed first): a resumed output never mixes
 * results of two models or two option sets. A subject counts as done only through its entry,
 * which is written after all of its outputs (a run killed between them redoes the subject), and
 * only while its data are the ones recorded: a cheap stamp (file paths, sizes, times; or the
 * phantom's recipe) first, the voxels' hash when the stamp changed (a copied cohort).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { MriseqError } from '../errors/index.js';
import type { Volume } from '../volume/index.js';
import { writeFileAtomicSync } from './node.js';

export const PROVENANCE_FORMAT = 'mriseq-provenance/1';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

export interface SubjectProvenance {
  /** sha256 of the subject's volumes that went into the outputs (fingerprintVolumes). */
  data: string;
  /** A cheap identity of the same data (file stats or a recipe), checked before the hash. */
  stamp?: string;
  /** Output files of this subject, relative to the record's folder (removed by a redo). */
  outputs?: string[];
}

export interface ProvenanceRecord {
  format: typeof PROVENANCE_FORMAT;
  command: string;
  inputs: Record<string, JsonValue>;
  subjects: Record<string, SubjectProvenance>;
  /** Outputs that belong to no subject (a metrics file, figures), relative to the record's folder. */
  outputs?: string[];
}

/** The record as text: subjects in a fixed order, so a merge of shards writes the same bytes. */
export function provenanceText(r: ProvenanceRecord): string {
  const subjects = Object.fromEntries(
    Object.keys(r.subjects)
      .sort()
      .map((k) => [k, r.subjects[k]!]),
  );
  return JSON.stringify({ ...r, subjects }, null, 1) + '\n';
}

/** Reads a record; undefined when the file does not exist, a MriseqError when it is not one. */
export function readProvenance(file: string): ProvenanceRecord | undefined {
  if (!existsSync(file)) return undefined;
  let r: Partial<ProvenanceRecord>;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as Partial<ProvenanceRecord>;
  } catch (e) {
    throw new MriseqError('unreadable provenance record', {
      file,
      expected: 'JSON written by mriseq',
      code: 'provenance.corrupt',
      cause: e,
    });
  }
  if (
    r?.format !== PROVENANCE_FORMAT ||
    typeof r.command !== 'string' ||
    typeof r.inputs !== 'object' ||
    r.inputs === null ||
    typeof r.subjects !== 'object' ||
    r.subjects === null
  )
    throw new MriseqError('not a provenance record', {
      file,
      field: 'format',
      found: JSON.stringify(r?.format),
      expected: `${PROVENANCE_FORMAT} with command, inputs and subjects`,
      code: 'provenance.corrupt',
    });
  return r as ProvenanceRecord;
}

function short(v: JsonValue | undefined): string {
  const t = v === undefined ? 'absent' : JSON.stringify(v);
  return /^"[0-9a-f]{64}"$/.test(t) ? t.slice(1, 13) : t.length > 80 ? `${t.slice(0, 77)}...` : t;
}

/** The inputs that differ, e.g. ["model: 3fa2... -> 9bc1...", "slices: false -> true"]. */
export function inputDifferences(
  before: Record<string, JsonValue>,
  now: Record<string, JsonValue>,
): string[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(now)])].sort();
  return keys
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(now[k]))
    .map((k) => `${k}: ${short(before[k])} -> ${short(now[k])}`);
}

/** sha256 over the named volumes (names sorted): name, shape, affine and voxel bytes. */
export function fingerprintVolumes(volumes: Iterable<readonly [string, Volume | undefined]>): string {
  const h = createHash('sha256');
  for (const [name, v] of [...volumes].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    if (!v) continue;
    h.update(`${name} ${v.shape.join(',')} ${v.affine.map((r) => r.join(',')).join(';')}\n`);
    h.update(new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength));
  }
  return h.digest('hex');
}

/** sha256 of a JSON value (object keys in insertion order: build it the same way each time). */
export function fingerprintJson(value: JsonValue): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

export interface OpenProvenanceOptions {
  /** Replace outputs made from other inputs (after removing them) instead of refusing. */
  redo?: boolean;
  /** Whether outputs are there already (they are of unknown origin when no record is). */
  hasOutputs: () => boolean;
  /** Removes the previous outputs (the previous record, when there is one, says which). */
  removeOutputs: (previous: ProvenanceRecord | undefined) => void;
  /** Names the output in messages, e.g. "the maps in OUT" (default: the record's file). */
  what?: string;
  /** The option that redoes, as the user gives it (default --redo). */
  redoOption?: string;
}

/** The provenance of one output, opened for a (re)run with `inputs`. */
export class OutputProvenance {
  private constructor(
    readonly file: string,
    readonly record: ProvenanceRecord,
  ) {}

  /**
   * Opens (creating) the record of an output about to be written by `command` from `inputs`:
   * same inputs resume, other inputs (or outputs without a record) are refused unless `redo`,
   * which removes the previous outputs first. The record is written before any output.
   */
  static open(
    file: string,
    command: string,
    inputs: Record<string, JsonValue>,
    options: OpenProvenanceOptions,
  ): OutputProvenance {
    const previous = readProvenanceOrNote(file, options.redo === true);
    const what = options.what ?? `the outputs recorded in ${file}`;
    const redo = options.redoOption ?? '--redo';
    let subjects: Record<string, SubjectProvenance> = {};
    if (previous) {
      const diff = [
        ...(previous.command !== command ? [`command: ${previous.command} -> ${command}`] : []),
        ...inputDifferences(previous.inputs, inputs),
      ];
      if (diff.length === 0) subjects = previous.subjects;
      else if (!options.redo)
        throw new MriseqError(`${what} were made from other inputs`, {
          file,
          field: 'inputs',
          found: diff.join('; '),
          expected: `the inputs they were made from; or ${redo} to remove them and start again; or another output`,
          code: 'provenance.mismatch',
        });
      else options.removeOutputs(previous);
    } else if (options.hasOutputs()) {
      if (!options.redo)
        throw new MriseqError(
          `${what} exist without a provenance record (written by an older mriseq or by hand)`,
          {
            file,
            found: 'outputs and no record of what produced them',
            expected: `${redo} to remove them and start again, or another output`,
            code: 'provenance.unknown',
          },
        );
      options.removeOutputs(undefined);
    }
    const p = new OutputProvenance(file, { format: PROVENANCE_FORMAT, command, inputs, subjects });
    // a resumed output whose record says the same is not written again (a full disk then fails
    // on the output itself, and a read-only resume that has nothing to add writes nothing)
    if (!previous || options.redo || provenanceText(previous) !== provenanceText(p.record)) p.write();
    return p;
  }

  /** A subject's entry (its outputs are complete), or undefined. */
  subject(id: string): SubjectProvenance | undefined {
    return Object.prototype.hasOwnProperty.call(this.record.subjects, id)
      ? this.record.subjects[id]
      : undefined;
  }

  /** Records a subject as done: call after every one of its outputs is written. */
  done(id: string, entry: SubjectProvenance): void {
    this.record.subjects[id] = entry;
    this.write();
  }

  /**
   * Whether a subject's recorded outputs may be kept: its entry exists and its data are the
   * recorded ones (the stamp when it is unchanged, else the voxels' hash, which refreshes the
   * stamp). Data that changed under a subject's finished outputs are an error naming the subject.
   */
  async verify(id: string, stamp: string | undefined, content: () => Promise<string>): Promise<boolean> {
    const e = this.subject(id);
    if (!e) return false;
    if (stamp !== undefined && e.stamp === stamp) return true;
    const data = await content();
    if (data !== e.data)
      throw new MriseqError(`the data of ${id} differ from those its outputs were made from`, {
        file: this.file,
        field: `subjects.${id}.data`,
        found: data.slice(0, 12),
        expected: `${e.data.slice(0, 12)} (the same volumes; or --redo, or another output)`,
        code: 'provenance.data',
      });
    if (stamp !== undefined && stamp !== e.stamp) this.done(id, { ...e, stamp });
    return true;
  }

  /** Records the outputs that belong to no subject (written after them). */
  setOutputs(outputs: readonly string[]): void {
    this.record.outputs = [...outputs];
    this.write();
  }

  write(): void {
    writeFileAtomicSync(this.file, provenanceText(this.record));
  }
}

/**
 * Removes files given relative to `dir` (never outside it), then the folders they leave empty;
 * what a redo does with a previous run's outputs.
 */
export function removeOutputFiles(dir: string, files: Iterable<string>): void {
  const root = resolve(dir);
  const folders = new Set<string>();
  for (const rel of files) {
    const abs = resolve(root, rel);
    if (!abs.startsWith(root + sep)) continue;
    rmSync(abs, { force: true, recursive: true });
    for (let d = dirname(abs); d.startsWith(root + sep); d = dirname(d)) folders.add(d);
  }
  // deepest first
  for (const d of [...folders].sort((a, b) => b.length - a.length)) {
    try {
      if (readdirSync(d).length === 0) rmdirSync(d);
    } catch {
      // gone or not empty: leave it
    }
  }
}

/** Every recorded output of a record: its subjects' and its own. */
export function recordedOutputs(r: ProvenanceRecord | undefined): string[] {
  if (!r) return [];
  return [...Object.values(r.subjects).flatMap((e) => e.outputs ?? []), ...(r.outputs ?? [])];
}

/** A corrupt record is an error, unless the caller redoes (then it is replaced). */
function readProvenanceOrNote(file: string, redo: boolean): ProvenanceRecord | undefined {
  try {
    return readProvenance(file);
  } catch (e) {
    if (redo) return undefined;
    throw e;
  }
}

/**
 * The record of a pipeline that writes a whole folder at once (classify, cluster, figures): it holds
 * their inputs; a rerun with other inputs into the same folder is refused (or, with redo, the
 * previous outputs are removed first), so files of two runs never sit side by side as if one run
 * had written them.
 */
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
export function existingFiles(dir: string, names: readonly string[]): string[] {
  return names.filter((n) => existsSync(join(dir, n)));
}

/**
 * What a cohort's data are, cheaply: the stamps of every subject's volumes (file stats or recipe);
 * null when a subject has no stamp.
 */
export async function cohortStamp(cohort: {
  subjects: readonly { id: string; available: readonly string[]; masks: object }[];
  stamp(id: string, sequences: readonly string[], masks: readonly string[]): Promise<string | undefined>;
}): Promise<string | null> {
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
