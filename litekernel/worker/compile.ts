/**
 * Turns one notebook cell of TypeScript into JavaScript the browser kernel can run with the
 * desktop kernel's cell semantics:
 *  - types are erased by TypeScript's own transpiler (`ts.transpileModule`: no type check);
 *  - top-level `const`/`let`/`var`, functions, classes, enums and imports become names of the
 *    kernel's scope object, so later cells see them and a rerun may declare them again (as in
 *    the desktop kernel, where a re-declared `const` works);
 *  - top-level `await` works (the cell runs as the body of an async function);
 *  - a cell that ends in an expression returns its value (shown as the cell's result);
 *  - every `await` and every turn of a `for await` loop passes a check that throws when the
 *    user interrupted the cell (the browser can only stop code that yields: see executor.ts).
 * The rewrite only inserts text inside lines, so each line of the JavaScript run is a line of
 * TypeScript's output, and TypeScript's source map takes it back to the cell's line.
 */
import ts from 'typescript';
import {
  TraceMap,
  originalPositionFor,
  GREATEST_LOWER_BOUND,
  LEAST_UPPER_BOUND,
} from '@jridgewell/trace-mapping';

/** The identifiers the generated code uses for the kernel's scope object and helpers. */
export const SCOPE = '__mriseq_scope';
export const HELPERS = '__mriseq_k';

/** What the generated code calls on HELPERS. */
export interface CellHelpers {
  /** Returns v, or throws when the running cell was interrupted. */
  ck<T>(v?: T): T | undefined;
  /** `import ... from specifier`: the module object. */
  import(specifier: string): Promise<Record<string, unknown>>;
  /** A named import; throws a clear error when the module has no such export. */
  named(mod: Record<string, unknown>, name: string, specifier: string): unknown;
  /** A default import (the module itself when it has no default export, as CommonJS interop). */
  dflt(mod: Record<string, unknown>): unknown;
}

export interface CompiledCell {
  /**
   * JavaScript source of `(function (scope, helpers) { ... return async function () {...} })`;
   * its line n is line n of TypeScript's output for the cell.
   */
  code: string;
  /** Top-level names the cell declares (they live in the kernel's scope object). */
  names: string[];
  /** The cell ends in an expression: its function resolves to `{ value }`. */
  hasResult: boolean;
  /** The cell line (1-based) of a line/column (1-based, 0-based) of `code`, when known. */
  cellLine(line: number, column: number): number | undefined;
}

/** A cell that does not parse: the message and where (1-based line and column in the cell). */
export class CellSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
    this.name = 'SyntaxError';
  }
}

const TRANSPILE: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  // Every cell is a module, so top-level await parses even in a cell without imports.
  moduleDetection: ts.ModuleDetectionKind.Force,
  // Keep `import { x } from 'mriseq'` although this cell does not use x (a later cell does);
  // `import type` and inline `type` specifiers are still erased.
  verbatimModuleSyntax: true,
  sourceMap: true,
  removeComments: false,
  useDefineForClassFields: true,
};

interface Edit {
  pos: number;
  end: number;
  text: string;
  /** Orders edits at one position: openers outer-first, closers inner-first. */
  rank: number;
}

/** Compiles a cell; `sourceUrl` names it in stack traces (e.g. `cell-3.js`). */
export function compileCell(source: string, sourceUrl: string): CompiledCell {
  const out = ts.transpileModule(source, {
    fileName: 'cell.ts',
    reportDiagnostics: true,
    compilerOptions: TRANSPILE,
  });
  const err = out.diagnostics?.find((d) => d.category === ts.DiagnosticCategory.Error);
  if (err) {
    const pos =
      err.file && err.start !== undefined ? err.file.getLineAndCharacterOfPosition(err.start) : undefined;
    throw new CellSyntaxError(
      ts.flattenDiagnosticMessageText(err.messageText, '\n'),
      (pos?.line ?? 0) + 1,
      (pos?.character ?? 0) + 1,
    );
  }
  const js = out.outputText.replace(/\n?\/\/# sourceMappingURL=.*\s*$/, '\n');
  const sf = ts.createSourceFile('cell.js', js, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const edits: Edit[] = [];
  const names = new Set<string>();
  const hoists: string[] = [];
  let importCount = 0;
  const start = (n: ts.Node) => n.getStart(sf);
  /** Replaces [pos, end) keeping its line breaks, so later lines stay where they were. */
  const replace = (pos: number, end: number, text: string, rank = 0) =>
    edits.push({ pos, end, text: text + '\n'.repeat(countLines(js.slice(pos, end))), rank });
  const insert = (pos: number, text: string, rank: number) => edits.push({ pos, end: pos, text, rank });

  // TypeScript closes a module without exports with `export {};`: not the cell's last statement.
  const emptyExport = (st: ts.Statement) =>
    ts.isExportDeclaration(st) &&
    !st.moduleSpecifier &&
    st.exportClause !== undefined &&
    ts.isNamedExports(st.exportClause) &&
    st.exportClause.elements.length === 0;
  const statements = sf.statements;
  const lastIndex = statements.map((st) => !emptyExport(st)).lastIndexOf(true);
  statements.forEach((st, i) => {
    const last = i === lastIndex;
    if (ts.isImportDeclaration(st)) {
      const spec = (st.moduleSpecifier as ts.StringLiteral).text;
      const m = `__mriseq_m${importCount++}`;
      const parts = [`const ${m} = ${HELPERS}.ck(await ${HELPERS}.import(${JSON.stringify(spec)}));`];
      const clause = st.importClause;
      if (clause?.name) {
        names.add(clause.name.text);
        parts.push(`${clause.name.text} = ${HELPERS}.dflt(${m});`);
      }
      const nb = clause?.namedBindings;
      if (nb && ts.isNamespaceImport(nb)) {
        names.add(nb.name.text);
        parts.push(`${nb.name.text} = ${m};`);
      } else if (nb) {
        for (const el of nb.elements) {
          const local = el.name.text;
          const remote = el.propertyName ? (el.propertyName as ts.Identifier).text : local;
          names.add(local);
          parts.push(
            `${local} = ${HELPERS}.named(${m}, ${JSON.stringify(remote)}, ${JSON.stringify(spec)});`,
          );
        }
      }
      replace(start(st), st.end, parts.join(' '));
      return;
    }
    if (ts.isExportDeclaration(st) || (ts.isExportAssignment(st) && !last)) {
      replace(start(st), st.end, '');
      return;
    }
    if (ts.isExportAssignment(st)) {
      // `export default x` as the last statement: show x.
      insert(start(st), `return { value: (`, 0);
      replace(start(st), start(st.expression), '');
      insert(st.expression.end, `) }`, 0);
      return;
    }
    const exportModifiers = (n: ts.Node) =>
      (ts.canHaveModifiers(n) ? (ts.getModifiers(n) ?? []) : []).filter(
        (m) => m.kind === ts.SyntaxKind.ExportKeyword || m.kind === ts.SyntaxKind.DefaultKeyword,
      );
    if (ts.isVariableStatement(st)) {
      const decls = st.declarationList.declarations;
      for (const d of decls) bindingNames(d.name, names);
      // `export const a = 1, {b} = o;` -> `;(a = 1), ({b} = o);`
      replace(start(st), start(decls[0]), ';(');
      decls.forEach((d, j) => {
        if (!d.initializer) insert(d.name.end, ' = void 0', 0);
        if (j < decls.length - 1) replace(d.end, start(decls[j + 1]), '), (');
      });
      insert(decls[decls.length - 1].end, ')', 0);
      return;
    }
    if (ts.isFunctionDeclaration(st) && st.name) {
      names.add(st.name.text);
      for (const m of exportModifiers(st)) replace(m.getStart(sf), m.end, '');
      // Function declarations are hoisted inside the cell: publish them before any line runs.
      hoists.push(`${SCOPE}.${st.name.text} = ${st.name.text};`);
      return;
    }
    if (ts.isClassDeclaration(st) && st.name) {
      names.add(st.name.text);
      for (const m of exportModifiers(st)) replace(m.getStart(sf), m.end, '');
      const classKeyword = st.getChildren(sf).find((c) => c.kind === ts.SyntaxKind.ClassKeyword);
      insert(classKeyword ? start(classKeyword) : start(st), `;(${st.name.text} = `, 0);
      insert(st.end, ')', 0);
      return;
    }
    if (last && ts.isExpressionStatement(st)) {
      insert(start(st.expression), 'return { value: (', 0);
      insert(st.expression.end, ') }', 0);
    }
  });

  // Interrupt checks: after every await, and at the top of every `for await` turn.
  const visit = (node: ts.Node, depth: number): void => {
    if (ts.isAwaitExpression(node)) {
      insert(start(node), `(${HELPERS}.ck(`, depth);
      insert(node.end, '))', -depth);
    } else if (ts.isForOfStatement(node) && node.awaitModifier) {
      const body = node.statement;
      if (ts.isBlock(body)) insert(start(body) + 1, ` ${HELPERS}.ck();`, depth);
      else {
        insert(start(body), `{ ${HELPERS}.ck(); `, depth);
        insert(body.end, ' }', -depth);
      }
    }
    node.forEachChild((c) => visit(c, depth + 1));
  };
  for (const st of statements) visit(st, 1);

  const body = applyEdits(js, edits);
  const prefix =
    `(function (${SCOPE}, ${HELPERS}) { with (${SCOPE}) { return async function () { "use strict"; ` +
    hoists.join(' ');
  const code = `${prefix}${body}\n} } })\n//# sourceURL=${sourceUrl}`;
  const map = out.sourceMapText ? new TraceMap(out.sourceMapText) : undefined;
  const lastStatement = statements[lastIndex];
  return {
    code,
    names: [...names],
    hasResult:
      lastStatement !== undefined &&
      (ts.isExpressionStatement(lastStatement) || ts.isExportAssignment(lastStatement)),
    cellLine(line, column) {
      if (!map) return undefined;
      // The rewrite inserted text, so a column is at or after its place in TypeScript's output:
      // the closest mapping at or before it is the statement's; the line's first one otherwise.
      const col = line === 1 ? Math.max(0, column - prefix.length) : column;
      const p =
        originalPositionFor(map, { line, column: col, bias: GREATEST_LOWER_BOUND }).line ??
        originalPositionFor(map, { line, column: 0, bias: LEAST_UPPER_BOUND }).line;
      return p ?? undefined;
    },
  };
}

function countLines(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 10) n++;
  return n;
}

/** The identifiers a binding (a name or a destructuring pattern) declares. */
function bindingNames(name: ts.BindingName, into: Set<string>): void {
  if (ts.isIdentifier(name)) into.add(name.text);
  else
    for (const el of name.elements) {
      if (ts.isOmittedExpression(el)) continue;
      bindingNames(el.name, into);
    }
}

function applyEdits(text: string, edits: Edit[]): string {
  // Ranges never overlap (replacements are of disjoint statement parts); insertions at one
  // position go outermost opener first and innermost closer first.
  const sorted = [...edits].sort((a, b) => a.pos - b.pos || a.rank - b.rank);
  let out = '';
  let at = 0;
  for (const e of sorted) {
    if (e.pos < at) throw new Error(`internal: overlapping cell edits at ${e.pos}`);
    out += text.slice(at, e.pos) + e.text;
    at = e.end;
  }
  return out + text.slice(at);
}
