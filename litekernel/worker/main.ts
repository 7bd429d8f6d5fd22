/**
 * The kernel's web worker (bundled by scripts/build-lite.mjs into mriseq-kernel-worker.js, a
 * classic worker so that importScripts can load the mriseq bundle). It lives in the kernel
 * extension's static folder beside mriseq.js (the computing core with tfjs), types.json (the
 * declarations for completion) and pretrained/ (the shipped generators). The page starts it with
 * its own query string (`?backend=cpu` reaches mriseq's engine choice).
 */
import { Executor, formatArgs } from './executor.js';
import { Completer, isComplete, type TypeFiles } from './complete.js';
import type { WorkerMessage, WorkerRequest } from './protocol.js';
import * as teach from './teach.js';

interface WorkerScope {
  location: { href: string };
  postMessage(m: WorkerMessage): void;
  onmessage: ((e: { data: WorkerRequest }) => void) | null;
  onunhandledrejection: ((e: { reason: unknown; preventDefault(): void }) => void) | null;
  importScripts(...urls: string[]): void;
  mriseq?: Record<string, unknown> & { tf?: unknown };
}
const scope = globalThis as unknown as WorkerScope;
const here = new URL('.', scope.location.href);
const post = (m: WorkerMessage) => scope.postMessage(m);

/** Where mriseq's browser build finds the shipped generators (src/browser.ts, loadPretrained). */
(globalThis as Record<symbol, unknown>)[Symbol.for('mriseq.pretrained.baseUrl')] = new URL(
  'pretrained/',
  here,
).href;

function mriseq(): Record<string, unknown> {
  if (!scope.mriseq) scope.importScripts(new URL('mriseq.js', here).href);
  if (!scope.mriseq) throw new Error(`mriseq.js did not define the global 'mriseq' (${here.href})`);
  return scope.mriseq;
}

const executor = new Executor({
  modules: { mriseq, '@tensorflow/tfjs': () => mriseq().tf, teach: () => teach },
  importUrl: (url) => import(/* a module by URL, fetched by the browser */ url),
});
executor.installDisplayTransport();
executor.installConsole();
scope.onunhandledrejection = (e) => {
  e.preventDefault();
  const sink = executor.sink;
  const text = `unhandled promise rejection: ${formatArgs([e.reason instanceof Error ? (e.reason.stack ?? e.reason.message) : e.reason])}\n`;
  if (sink) sink('stream', { name: 'stderr', text });
  else post({ type: 'log', text });
};

const completer = new Completer();
let typesLoaded: Promise<Completer> | undefined;
function types(): Promise<Completer> {
  typesLoaded ??= fetch(new URL('types.json', here).href)
    .then((r) => {
      if (!r.ok) throw new Error(`types.json: HTTP ${r.status}`);
      return r.json() as Promise<TypeFiles>;
    })
    .then((files) => {
      completer.setFiles(files);
      return completer;
    });
  // A failed fetch is tried again at the next Tab.
  typesLoaded.catch(() => (typesLoaded = undefined));
  return typesLoaded;
}

scope.onmessage = (e) => {
  const m = e.data;
  switch (m.type) {
    case 'interrupt':
      executor.interrupt();
      return;
    case 'execute':
      void executor
        .execute(
          m.code,
          (kind, content) => post({ type: 'output', id: m.id, kind, content }),
          m.executionCount,
        )
        .then((content) => {
          post({ type: 'reply', id: m.id, content });
          if (content.status === 'ok' || content.ename !== 'SyntaxError')
            completer.record(m.cellId ?? `#${m.id}`, m.code);
        });
      return;
    case 'complete':
      void types()
        .then((c) => c.complete(m.code, m.cursorPos, m.cellId))
        .catch(() => ({
          status: 'ok' as const,
          matches: [],
          cursor_start: m.cursorPos,
          cursor_end: m.cursorPos,
          metadata: {},
        }))
        .then((content) => post({ type: 'reply', id: m.id, content }));
      return;
    case 'inspect':
      void types()
        .then((c) => c.inspect(m.code, m.cursorPos, m.cellId))
        .catch(() => ({ status: 'ok' as const, found: false, data: {}, metadata: {} }))
        .then((content) => post({ type: 'reply', id: m.id, content }));
      return;
    case 'is_complete':
      post({ type: 'reply', id: m.id, content: isComplete(m.code) });
      return;
  }
};

// Everything a session needs from the site but the shipped weights is loaded now, so a notebook
// keeps working if the network goes away after the kernel started: mriseq (before 'ready'; a
// failure shows at the first import instead) and, in the background, the declarations for Tab.
try {
  mriseq();
} catch {
  // the import of 'mriseq' will report it
}
void types().catch(() => undefined);
post({ type: 'ready', banner: 'mriseq TypeScript kernel (JupyterLite, web worker)' });
