/**
 * Runs the same tests on every backend the engine offers in Node. A backend that does not start
 * here makes its tests skip with the reason (never a silent pass).
 */
import { describe, test, type TestContext } from 'node:test';
import { initEngine, setEngineAdapter, tf } from '../../src/engine/index.js';
import { nodeEngineAdapter } from '../../src/engine/node.js';

setEngineAdapter(nodeEngineAdapter);

export const BACKENDS = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

const failures = new Map<string, string | undefined>();

/** Switches to `name`; returns why it cannot start, or undefined when it is active. */
export async function useBackend(name: string): Promise<string | undefined> {
  if (!failures.has(name) || failures.get(name) === undefined) {
    try {
      await initEngine({ backend: name });
      failures.set(name, undefined);
    } catch (e) {
      failures.set(
        name,
        `backend ${name} does not start here: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
  const why = failures.get(name);
  if (why === undefined && tf.getBackend() !== (name === 'tensorflow-gpu' ? 'tensorflow' : name))
    return `backend ${name} did not become active`;
  return why;
}

/** `it` inside describeWithBackends: the test body runs with the group's backend active. */
export type BackendIt = (name: string, fn: (t: TestContext) => void | Promise<void>) => void;

/**
 * One `describe` per backend, titled `title [backend]`; `body` declares its tests with `it`,
 * which activates the backend first and skips (saying why) when it cannot start.
 */
export function describeWithBackends(
  title: string,
  body: (it: BackendIt, backend: BackendName) => void,
  backends: readonly BackendName[] = BACKENDS,
): void {
  for (const backend of backends) {
    describe(`${title} [${backend}]`, () => {
      const it: BackendIt = (name, fn) =>
        test(name, async (t) => {
          const why = await useBackend(backend);
          if (why !== undefined) {
            t.skip(why);
            return;
          }
          await fn(t);
        });
      body(it, backend);
    });
  }
}

/** Backends that start here, for tests that compare them with each other. */
export async function availableBackends(): Promise<BackendName[]> {
  const ok: BackendName[] = [];
  for (const b of BACKENDS) if ((await useBackend(b)) === undefined) ok.push(b);
  return ok;
}
