/**
 * Completion (Tab), inspection (Shift+Tab) and is_complete for the browser kernel, from
 * TypeScript's language service over mriseq's own type declarations (the browser build's .d.ts,
 * bundled into the site by scripts/build-lite.mjs with TypeScript's ES2022 library).
 *
 * What the service sees: the cell being edited after the other cells' latest sources, most
 * recently run first, in one module, so names from earlier cells complete with their types (a
 * name declared in several cells takes its latest declaration's type). Types of modules other
 * than mriseq (e.g. @tensorflow/tfjs's own) are not bundled: they complete as `any`.
 */
import ts from 'typescript';
import type { CompleteReply, InspectReply, IsCompleteReply } from './protocol.js';

/** Virtual files: absolute path -> text (TypeScript's libs under /lib, mriseq under /node_modules/mriseq). */
export type TypeFiles = Record<string, string>;

const CELL = '/cell.ts';
const GLOBALS = '/kernel-globals.d.ts';
/** The worker's globals a cell may use without importing (no DOM library is bundled). */
const GLOBALS_TEXT = `
interface Console { log(...a: any[]): void; info(...a: any[]): void; debug(...a: any[]): void; warn(...a: any[]): void; error(...a: any[]): void; }
declare var console: Console;
declare function setTimeout(handler: (...args: any[]) => void, ms?: number, ...args: any[]): number;
declare function clearTimeout(id?: number): void;
declare function setInterval(handler: (...args: any[]) => void, ms?: number, ...args: any[]): number;
declare function clearInterval(id?: number): void;
declare function fetch(input: string | URL, init?: any): Promise<any>;
declare var performance: { now(): number };
declare class URL { constructor(url: string, base?: string | URL); href: string; searchParams: URLSearchParams; }
declare class URLSearchParams { constructor(init?: string); get(name: string): string | null; }
declare class AbortController { readonly signal: AbortSignal; abort(reason?: any): void; }
interface AbortSignal { readonly aborted: boolean; readonly reason: any; }
`;

const OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  moduleDetection: ts.ModuleDetectionKind.Force,
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: [],
};

export class Completer {
  /** Cell id -> latest source, in the order last run (oldest first). */
  private readonly sources = new Map<string, string>();
  private cellText = '';
  private version = 0;
  private service?: ts.LanguageService;
  private files?: TypeFiles;

  /** The declarations (fetched on the first completion: about a megabyte). */
  setFiles(files: TypeFiles): void {
    this.files = files;
    this.service = undefined;
  }

  get ready(): boolean {
    return this.files !== undefined;
  }

  /** Remembers a cell's source after it ran (cells that did not parse are left out). */
  record(cellId: string, code: string): void {
    this.sources.delete(cellId);
    this.sources.set(cellId, code);
    while (this.sources.size > 200) this.sources.delete(this.sources.keys().next().value as string);
  }

  complete(code: string, cursorPos: number, cellId?: string): CompleteReply {
    const { offset } = this.load(code, cursorPos, cellId);
    const prefix = /[\w$]*$/.exec(code.slice(0, cursorPos))?.[0] ?? '';
    const found = this.ls().getCompletionsAtPosition(CELL, offset, {
      includeCompletionsWithInsertText: false,
      includeCompletionsForModuleExports: false,
    });
    const low = prefix.toLowerCase();
    const entries = (found?.entries ?? [])
      .filter((e) => !e.name.startsWith('__mriseq') && e.name.toLowerCase().startsWith(low))
      .sort(
        (a, b) =>
          Number(!b.name.startsWith(prefix)) - Number(!a.name.startsWith(prefix)) ||
          a.sortText.localeCompare(b.sortText) ||
          a.name.localeCompare(b.name),
      )
      .slice(0, 500);
    const start = cursorPos - prefix.length;
    return {
      status: 'ok',
      matches: entries.map((e) => e.name),
      cursor_start: start,
      cursor_end: cursorPos,
      metadata: {
        _jupyter_types_experimental: entries.map((e) => ({
          text: e.name,
          type: e.kind,
          start,
          end: cursorPos,
        })),
      },
    };
  }

  inspect(code: string, cursorPos: number, cellId?: string): InspectReply {
    const { offset } = this.load(code, cursorPos, cellId);
    // On the character before the cursor when the cursor sits just after a name.
    const info =
      this.ls().getQuickInfoAtPosition(CELL, offset) ??
      (offset > 0 ? this.ls().getQuickInfoAtPosition(CELL, offset - 1) : undefined);
    if (!info) return { status: 'ok', found: false, data: {}, metadata: {} };
    const signature = ts.displayPartsToString(info.displayParts);
    const doc = ts.displayPartsToString(info.documentation);
    const tags = (info.tags ?? []).map((t) => `@${t.name} ${ts.displayPartsToString(t.text)}`.trim());
    const text = [signature, doc, ...tags].filter(Boolean).join('\n\n');
    return {
      status: 'ok',
      found: true,
      data: {
        'text/plain': text,
        'text/markdown': ['```ts', signature, '```', doc, ...tags].filter(Boolean).join('\n'),
      },
      metadata: {},
    };
  }

  private load(code: string, cursorPos: number, cellId?: string): { offset: number } {
    const others = [...this.sources].filter(([id]) => id !== cellId).reverse();
    const prefix = others.map(([, src]) => src + '\n;\n').join('');
    this.cellText = prefix + code;
    this.version++;
    return { offset: prefix.length + Math.max(0, Math.min(cursorPos, code.length)) };
  }

  private ls(): ts.LanguageService {
    if (this.service) return this.service;
    const files = this.files ?? {};
    const read = (f: string): string | undefined =>
      f === CELL ? this.cellText : f === GLOBALS ? GLOBALS_TEXT : files[f];
    const host: ts.LanguageServiceHost = {
      getCompilationSettings: () => OPTIONS,
      getScriptFileNames: () => [CELL, GLOBALS],
      getScriptVersion: (f) => (f === CELL ? String(this.version) : '1'),
      getScriptSnapshot: (f) => {
        const t = read(f);
        return t === undefined ? undefined : ts.ScriptSnapshot.fromString(t);
      },
      getCurrentDirectory: () => '/',
      getDefaultLibFileName: () => '/lib/lib.es2022.d.ts',
      fileExists: (f) => read(f) !== undefined,
      readFile: read,
      directoryExists: (d) => {
        const dir = d.endsWith('/') ? d : d + '/';
        return dir === '/' || Object.keys(files).some((k) => k.startsWith(dir));
      },
      getDirectories: () => [],
    };
    this.service = ts.createLanguageService(host, ts.createDocumentRegistry());
    return this.service;
  }
}

/**
 * Whether a console input is complete: 'incomplete' when the parser ran out of text (an open
 * brace, bracket, string or template), 'invalid' for other syntax errors.
 */
export function isComplete(code: string): IsCompleteReply {
  const diags = (
    ts.transpileModule(code, {
      reportDiagnostics: true,
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    }).diagnostics ?? []
  ).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (diags.length === 0) return { status: 'complete' };
  const end = code.trimEnd().length;
  const atEnd = diags.every((d) => (d.start ?? 0) >= end - 1);
  if (!atEnd) return { status: 'invalid' };
  const indent = /^(\s*)/.exec(code.split('\n').pop() ?? '')?.[1] ?? '';
  return { status: 'incomplete', indent: code.trimEnd().endsWith('{') ? indent + '  ' : indent };
}
