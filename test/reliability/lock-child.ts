/** Takes the run lock of argv[2], prints "locked", holds it until stdin closes (or prints the error). */
import { acquireRunLock, isMriseqError } from '../../src/index.js';

try {
  const lock = acquireRunLock(process.argv[2]!, 'lock-child');
  console.log('locked');
  process.stdin.resume();
  process.stdin.on('end', () => {
    lock.release();
    process.exit(0);
  });
} catch (e) {
  console.log(isMriseqError(e) ? `MriseqError ${e.code}: ${e.message}` : `other: ${String(e)}`);
  process.exit(3);
}
