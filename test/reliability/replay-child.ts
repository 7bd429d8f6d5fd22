/** Replays one kept input in its own process (a hang or out-of-memory must not take the suite down). */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { initEngine } from '../../src/index.js';
import { TARGETS } from './targets.js';

const file = process.argv[2]!;
const target = TARGETS.find((t) => basename(file).startsWith(`${t.name}-`));
void (async () => {
  await initEngine();
  if (!target) throw new Error(`no target for ${file}`);
  await target.run(new Uint8Array(readFileSync(file)));
  console.log('ok');
})().then(
  () => process.exit(0),
  (e: Error) => {
    console.log(`finding: ${e.message}`);
    process.exit(1);
  },
);
