/**
 * `mriseq merge RUN`: combines the shard parts under RUN/parts into RUN, so that the result is
 * byte-identical to what one process would have written. Node-only.
 *
 * Rules, per relative path found in the parts of one command:
 * - a table (.csv/.tsv whose header has a subject column: subject, subject_id, subjectId or id):
 *   one header (all parts must agree), then every part's rows, stably sorted by subject id in the
 *   canonical order (compareSubjectIds);
 * - any other file present in several parts must have the same bytes in each (shard-invariant
 *   files such as a cohort's parameters) and is copied once; per-subject files (maps folders,
 *   volumes) exist in one part only and are copied as they are.
 * The subject set is checked against the parts' `_shard.json` markers: every subject must be in
 * exactly one part; missing parts, unfinished parts (no marker), missing and duplicated subjects
 * are named in the error.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { MriseqError } from '../errors/index.js';
import { compareSubjectIds, type ShardSpec } from './shard.js';
import { PARTS_DIR, SHARD_MARKER, SHARD_MARKER_FORMAT, parsePartName, type ShardMarker } from './layout.js';
import { writeFileAtomicSync } from '../reliability/node.js';
import { csvLineEnd, csvRecords, unescapeCsvCell } from '../csv/index.js';
import {
  inputDifferences,
  provenanceText,
  readProvenance,
  type ProvenanceRecord,
} from '../reliability/provenance.js';

export const SUBJECT_COLUMNS = ['subject', 'subject_id', 'subjectId', 'id'] as const;

export interface MergeOptions {
  /** Merge only this command's parts (default: every command found under RUN/parts). */
  command?: string;
  /** Expected shard count (default: from the part names; must be unique per command). */
  shards?: number;
  /** Called once per command merged. */
  onProgress?: (e: { command: string; files: number; subjects: number }) => void;
}

/**
 * What {@link mergeRun} merged.
 *
 * @example
 * ```ts
 * import { mergeRun, type MergeReport } from 'mriseq';
 * const r: MergeReport = mergeRun('runs/sim');
 * console.log(r.commands.map((c) => `${c.command}: ${c.files} files`));
 * ```
 */
export interface MergeReport {
  run: string;
  commands: {
    command: string;
    shards: number;
    subjects: number;
    files: number;
    tables: string[];
    /** True when every part had a marker listing the whole cohort, so missing subjects were checked. */
    completenessChecked: boolean;
  }[];
}

interface Part {
  dir: string;
  shard: ShardSpec;
  marker?: ShardMarker;
}

/**
 * What an atomic writer (src/reliability) leaves beside its target while writing, or after being
 * killed: `<name>.<pid>-<host>-<hex>.tmp` files, `<name>.tmp-<tag>` / `<name>.old-<tag>` folders;
 * also the older `<name>.tmp-<pid>...` and `.<name>.<pid>.<hex>.tmp` forms. Never merged.
 */
function isTempName(name: string): boolean {
  return (
    name.includes('.tmp-') ||
    /\.old-\d+(?:-[0-9a-f]+)*$/.test(name) ||
    /\.\d+(?:[-.][0-9a-f]+)*\.tmp$/.test(name)
  );
}

function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      if (isTempName(name)) continue;
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (!(d === root && name === SHARD_MARKER)) out.push(relative(root, p));
    }
  };
  walk(root);
  return out;
}

/** Splits CSV/TSV text into raw records (quoted fields may hold newlines), keeping their bytes. */
export function splitRecords(
  text: string,
  sep = ',',
): { records: string[]; eol: string; trailingEol: boolean } {
  const records = csvRecords(text, { separator: sep }).map((r) => text.slice(r.start, r.end));
  return { records, ...csvLineEnd(text) };
}

/** The fields of one raw record, unquoted. */
export function splitFields(record: string, sep: string): string[] {
  return csvRecords(record, { separator: sep })[0]?.fields ?? [''];
}

function tableSubjectColumn(file: string, header: string): number {
  if (!/\.(csv|tsv)$/i.test(file)) return -1;
  const cols = splitFields(header, file.toLowerCase().endsWith('.tsv') ? '\t' : ',').map((c) => c.trim());
  for (const name of SUBJECT_COLUMNS) {
    const i = cols.indexOf(name);
    if (i >= 0) return i;
  }
  return -1;
}

function findParts(run: string, opts: MergeOptions): Map<string, Part[]> {
  const partsRoot = join(run, PARTS_DIR);
  const groups = new Map<string, Part[]>();
  if (!existsSync(partsRoot)) return groups;
  for (const name of readdirSync(partsRoot).sort()) {
    const dir = join(partsRoot, name);
    if (!statSync(dir).isDirectory()) continue;
    const parsed = parsePartName(name);
    if (!parsed || (opts.command && parsed.command !== opts.command)) continue;
    if (opts.shards && parsed.shard.count !== opts.shards) continue;
    const list = groups.get(parsed.command) ?? [];
    list.push({ dir, shard: parsed.shard });
    groups.set(parsed.command, list);
  }
  return groups;
}

/**
 * The other layout, for commands whose shards share the output folder (per-subject files are
 * disjoint, so they land in place): only their tables are per shard, named
 * `<name>.shard-<I>-of-<N>.<ext>` (e.g. simulate's manifest.shard-0-of-4.csv), merged into
 * `<name>.<ext>`.
 */
function findInPlaceTables(
  run: string,
  opts: MergeOptions,
): Map<string, { file: string; shard: ShardSpec }[]> {
  const groups = new Map<string, { file: string; shard: ShardSpec }[]>();
  const walk = (d: string, depth: number): void => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (d === run && (name === PARTS_DIR || name === 'slurm' || name === 'points')) continue;
      if (statSync(p).isDirectory()) {
        if (depth < 2) walk(p, depth + 1);
        continue;
      }
      const m = /^(.*)\.shard-(\d+)-of-(\d+)(\.(?:csv|tsv))$/i.exec(name);
      if (!m || (opts.shards && Number(m[3]) !== opts.shards)) continue;
      const key = `${relative(run, join(d, m[1] + m[4]))}|${m[3]}`;
      groups.set(key, [
        ...(groups.get(key) ?? []),
        { file: p, shard: { index: Number(m[2]), count: Number(m[3]) } },
      ]);
    }
  };
  walk(run, 0);
  return groups;
}

/** Concatenates one table's per-shard copies: one header, rows in canonical subject order. */
function mergeTable(
  rel: string,
  sources: { label: string; shard: number; text: string }[],
  problems: string[],
): { bytes: Buffer; ids: { id: string; shard: number }[] } | undefined {
  const sep = rel.toLowerCase().endsWith('.tsv') ? '\t' : ',';
  const first = splitRecords(sources[0].text, sep);
  const header = first.records[0] ?? '';
  const col = tableSubjectColumn(rel, header);
  if (col < 0) return undefined;
  const rows: { id: string; rec: string; shard: number }[] = [];
  for (const src of sources) {
    const parsed = splitRecords(src.text, sep);
    if (parsed.records[0] !== header) {
      problems.push(`${rel}: header of ${src.label} differs from ${sources[0].label}`);
      continue;
    }
    for (const rec of parsed.records.slice(1)) {
      if (rec !== '')
        rows.push({ id: unescapeCsvCell(splitFields(rec, sep)[col] ?? ''), rec, shard: src.shard });
    }
  }
  rows.sort((a, b) => compareSubjectIds(a.id, b.id));
  const body = [header, ...rows.map((r) => r.rec)].join(first.eol) + (first.trailingEol ? first.eol : '');
  return { bytes: Buffer.from(body, 'utf8'), ids: rows.map((r) => ({ id: r.id, shard: r.shard })) };
}

/**
 * The provenance records of one output in several parts (src/reliability/provenance.ts): the
 * same command and inputs in every part (else the parts were made from different models or
 * options), subjects in exactly one; the merged record is the one a single process writes.
 */
function mergeProvenance(
  rel: string,
  sources: { label: string; file: string }[],
  problems: string[],
): Buffer | undefined {
  const records = sources.map((s) => ({ ...s, record: readProvenance(s.file)! }));
  const first = records[0]!;
  const merged: ProvenanceRecord = { ...first.record, subjects: {} };
  for (const r of records) {
    const diff = [
      ...(r.record.command !== first.record.command
        ? [`command ${first.record.command} -> ${r.record.command}`]
        : []),
      ...inputDifferences(first.record.inputs, r.record.inputs),
    ];
    if (diff.length) {
      problems.push(`${rel}: ${r.label} was made from other inputs than ${first.label} (${diff.join('; ')})`);
      continue;
    }
    for (const [id, e] of Object.entries(r.record.subjects)) {
      if (Object.prototype.hasOwnProperty.call(merged.subjects, id))
        problems.push(`${rel}: subject ${id} is recorded by more than one shard`);
      merged.subjects[id] = e;
    }
  }
  return Buffer.from(provenanceText(merged), 'utf8');
}

function readMarker(part: Part): ShardMarker | undefined {
  const file = join(part.dir, SHARD_MARKER);
  if (!existsSync(file)) return undefined;
  let m: ShardMarker;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as ShardMarker;
  } catch (e) {
    throw new MriseqError('unreadable shard marker', {
      file,
      expected: 'JSON',
      code: 'scale.merge.marker',
      cause: e,
    });
  }
  if (m.format !== SHARD_MARKER_FORMAT || !Array.isArray(m.subjects)) {
    throw new MriseqError('not a shard marker', {
      file,
      found: JSON.stringify(m.format),
      expected: `format ${SHARD_MARKER_FORMAT} with a subjects list`,
      code: 'scale.merge.marker',
    });
  }
  return m;
}

function summarise(ids: string[], max = 10): string {
  return ids.length <= max ? ids.join(', ') : `${ids.slice(0, max).join(', ')} and ${ids.length - max} more`;
}

/**
 * Merges the parts of every (or one) sharded command under `run` into `run`.
 * Tables are concatenated in {@link compareSubjectIds} order and checked for missing or duplicated
 * subjects; other files are copied into the run folder.
 *
 * @param runDir - The run folder holding parts/<command>-<I>-of-<N>/.
 * @param opts - `command` to merge only its parts, expected `shards`, `onProgress`.
 * @returns What was merged, per command.
 * @throws {@link MriseqError} when there are no parts, parts disagree (shard counts, columns) or subjects are missing.
 * @example
 * ```ts
 * import { mergeRun } from 'mriseq';
 * for (const c of mergeRun('runs/sim').commands) console.log(c.command, c.shards, c.subjects, c.completenessChecked);
 * ```
 */
export function mergeRun(runDir: string, opts: MergeOptions = {}): MergeReport {
  const run = resolve(runDir);
  const report: MergeReport = { run, commands: [] };
  const partGroups = findParts(run, opts);
  const inPlace = findInPlaceTables(run, opts);
  if (partGroups.size === 0 && inPlace.size === 0) {
    throw new MriseqError('no shard parts to merge', {
      file: join(run, PARTS_DIR),
      field: opts.command ? `command ${opts.command}` : undefined,
      expected: `folders ${PARTS_DIR}/<command>-<I>-of-<N> or tables <name>.shard-<I>-of-<N>.csv written by commands run with --shard I/N`,
      code: 'scale.merge.empty',
    });
  }
  for (const [key, list] of inPlace) {
    const [rel, nText] = key.split('|');
    const n = Number(nText);
    const problems: string[] = [];
    const have = new Set(list.map((x) => x.shard.index));
    const missing = [...Array(n).keys()].filter((i) => !have.has(i));
    if (missing.length) problems.push(`missing shards ${missing.map((i) => `${i}/${n}`).join(', ')}`);
    const sorted = [...list].sort((a, b) => a.shard.index - b.shard.index);
    const merged = mergeTable(
      rel,
      sorted.map((x) => ({
        label: relative(run, x.file),
        shard: x.shard.index,
        text: readFileSync(x.file, 'utf8'),
      })),
      problems,
    );
    if (!merged) problems.push(`${rel} has no subject column (${SUBJECT_COLUMNS.join(', ')})`);
    const owner = new Map<string, number[]>();
    for (const x of merged?.ids ?? []) owner.set(x.id, [...(owner.get(x.id) ?? []), x.shard]);
    const dup = [...owner].filter(([, sh]) => new Set(sh).size > 1);
    if (dup.length)
      problems.push(
        `subjects in more than one shard: ${summarise(dup.map(([id, sh]) => `${id} (shards ${[...new Set(sh)].join(', ')})`))}`,
      );
    if (problems.length || !merged) {
      throw new MriseqError(`cannot merge ${rel}: ${problems.join('; ')}`, {
        file: join(run, rel),
        code: 'scale.merge.invalid',
      });
    }
    writeFileAtomicSync(join(run, rel), merged.bytes);
    const summary = {
      command: rel,
      shards: n,
      subjects: owner.size,
      files: 1,
      tables: [rel],
      completenessChecked: false,
    };
    report.commands.push(summary);
    opts.onProgress?.({ command: rel, files: 1, subjects: owner.size });
  }
  for (const [command, found] of partGroups) {
    const counts = [...new Set(found.map((p) => p.shard.count))];
    if (counts.length > 1) {
      throw new MriseqError(`parts of '${command}' come from different shard counts`, {
        file: join(run, PARTS_DIR),
        found: counts.map((n) => `of-${n}`).join(', '),
        expected: 'one shard count: delete the stale parts or pass --shards N',
        code: 'scale.merge.counts',
      });
    }
    const n = counts[0];
    const byIndex = new Map(found.map((p) => [p.shard.index, p]));
    const missingShards = [...Array(n).keys()].filter((i) => !byIndex.has(i));
    const parts = [...byIndex.values()].sort((a, b) => a.shard.index - b.shard.index);
    for (const p of parts) p.marker = readMarker(p);
    // Markers are written last: when some parts have one, a part without one did not finish.
    const unfinished = parts.some((p) => p.marker) ? parts.filter((p) => !p.marker) : [];
    const problems: string[] = [];
    if (missingShards.length) {
      problems.push(
        `missing shards ${missingShards.map((i) => `${i}/${n}`).join(', ')} (no ${PARTS_DIR}/${command}-<I>-of-${n})`,
      );
    }
    if (unfinished.length)
      problems.push(`unfinished shards ${unfinished.map((p) => `${p.shard.index}/${n}`).join(', ')}`);

    // Subject bookkeeping: from markers, else from the tables' subject columns.
    const owner = new Map<string, number[]>();
    const note = (id: string, shard: number): void => {
      const l = owner.get(id) ?? [];
      if (!l.includes(shard)) l.push(shard);
      owner.set(id, l);
    };
    for (const p of parts) for (const id of p.marker?.subjects ?? []) note(id, p.shard.index);
    const everyone = parts.find((p) => p.marker?.allSubjects)?.marker?.allSubjects;
    const completenessChecked = everyone !== undefined && parts.every((p) => p.marker);

    // Plan every output file before writing any, so a failed merge leaves RUN untouched.
    const files = new Map<string, Part[]>();
    for (const p of parts) for (const f of listFiles(p.dir)) files.set(f, [...(files.get(f) ?? []), p]);
    const outputs: { rel: string; bytes?: Buffer; copyFrom?: string }[] = [];
    const tables: string[] = [];
    for (const [rel, holders] of [...files].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const first = readFileSync(join(holders[0].dir, rel));
      if (rel.endsWith('.provenance.json') && holders.length > 1) {
        // the parts' records: one set of inputs, their subjects united
        const bytes = mergeProvenance(
          rel,
          holders.map((h) => ({ label: `shard ${h.shard.index}/${n}`, file: join(h.dir, rel) })),
          problems,
        );
        if (bytes) outputs.push({ rel, bytes });
        continue;
      }
      const merged = /\.(csv|tsv)$/i.test(rel)
        ? mergeTable(
            rel,
            holders.map((h) => ({
              label: `shard ${h.shard.index}/${n}`,
              shard: h.shard.index,
              text: readFileSync(join(h.dir, rel), 'utf8'),
            })),
            problems,
          )
        : undefined;
      if (merged) {
        // without markers, the tables' subject columns are the record of who wrote what
        for (const x of merged.ids) if (!byIndex.get(x.shard)?.marker) note(x.id, x.shard);
        outputs.push({ rel, bytes: merged.bytes });
        tables.push(rel);
      } else if (holders.length === 1) {
        outputs.push({ rel, copyFrom: join(holders[0].dir, rel) });
      } else {
        const differing = holders.filter((h) => !readFileSync(join(h.dir, rel)).equals(first));
        if (differing.length) {
          problems.push(
            `${rel} differs between shards ${holders[0].shard.index}/${n} and ${differing.map((h) => `${h.shard.index}/${n}`).join(', ')} (only tables with a subject column are concatenated; other files must be per-subject or identical in every shard)`,
          );
        }
        outputs.push({ rel, bytes: first });
      }
    }
    const duplicated = [...owner]
      .filter(([, s]) => s.length > 1)
      .sort((a, b) => compareSubjectIds(a[0], b[0]));
    if (duplicated.length) {
      problems.push(
        `subjects in more than one shard: ${summarise(duplicated.map(([id, s]) => `${id} (shards ${s.join(', ')})`))}`,
      );
    }
    if (everyone) {
      const missing = everyone.filter((id) => !owner.has(id)).sort(compareSubjectIds);
      if (missing.length) problems.push(`subjects missing from every shard: ${summarise(missing)}`);
      const cohort = new Set(everyone);
      const extra = [...owner.keys()].filter((id) => !cohort.has(id)).sort(compareSubjectIds);
      if (extra.length) problems.push(`subjects not in the cohort: ${summarise(extra)}`);
    }
    if (problems.length) {
      throw new MriseqError(`cannot merge '${command}': ${problems.join('; ')}`, {
        file: join(run, PARTS_DIR),
        code: 'scale.merge.invalid',
      });
    }
    for (const o of outputs) {
      const dest = join(run, o.rel);
      if (o.bytes) writeFileAtomicSync(dest, o.bytes);
      // a per-subject file (a map, a volume: tens of MB at most) goes through the same writer
      else if (o.copyFrom) writeFileAtomicSync(dest, readFileSync(o.copyFrom));
    }
    const summary = {
      command,
      shards: n,
      subjects: owner.size,
      files: outputs.length,
      tables,
      completenessChecked,
    };
    writeFileAtomicSync(
      join(run, PARTS_DIR, `merge-${command}.json`),
      JSON.stringify(summary, null, 1) + '\n',
    );
    report.commands.push(summary);
    opts.onProgress?.({ command, files: outputs.length, subjects: owner.size });
  }
  return report;
}
