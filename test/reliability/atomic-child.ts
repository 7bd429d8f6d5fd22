/**
 * A writer that is SIGKILLed at a chosen point of an atomic write, for the crash tests:
 *   folder DIR STAGE VERSION  writes DIR (files a.txt, b.txt holding VERSION) with
 *                             writeFolderAtomic and kills itself at STAGE ('none': completes)
 *   copy SRC DIR STAGE        rewrites DIR with SRC's files, killed at STAGE
 *   file PATH TEXT            writes TEXT to PATH's temp file (the shared naming), then is killed
 *                             before the rename, as a writer killed mid-write is
 *   hold PATH                 writes PATH's temp file, prints "ready" and waits (a live writer)
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempFileFor, writeFolderAtomic, type FolderWriteStage } from '../../src/reliability/node.js';

const [mode, a, b, c] = process.argv.slice(2) as [string, string, string, string];
const killAt = (stage: string) => (s: FolderWriteStage) => {
  if (s === stage) process.kill(process.pid, 'SIGKILL');
};

if (mode === 'folder') {
  writeFolderAtomic(a, { 'a.txt': `${c}\n`, 'b.txt': `${c}\n` }, { onStage: killAt(b) });
} else if (mode === 'copy') {
  const files = Object.fromEntries(readdirSync(a).map((n) => [n, readFileSync(join(a, n))]));
  writeFolderAtomic(b, files, { onStage: killAt(c) });
} else if (mode === 'file') {
  writeFileSync(tempFileFor(a), b);
  process.kill(process.pid, 'SIGKILL');
} else if (mode === 'hold') {
  writeFileSync(tempFileFor(a), 'live');
  console.log('ready');
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
