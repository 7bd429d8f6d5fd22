/** A folder's content as data, for tests that compare what two runs wrote byte for byte. */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * sha256 of every file under `dir` (relative path -> hash), hidden ones included, skipping the
 * top-level names in `skip` (a run's bookkeeping, e.g. its parts/ folder).
 */
export function treeHashes(dir: string, skip: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (d === dir && skip.includes(name)) continue;
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}
