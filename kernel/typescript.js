// @ts-check
/**
 * tslab's TypeScript converter (type checking, transpiling, declarations carried from cell to
 * cell, completion, hover docs), loaded unchanged from node_modules, plus what the kernel needs
 * around it:
 *
 * - Source maps. tslab emits neither; its TypeScript comes from @tslab/typescript-for-tslab, whose
 *   exports are read-only getters. We put a forwarding copy of that module in Node's require
 *   cache before tslab loads it, with two functions changed: the watch program gets
 *   `inlineSourceMap` (cell TS -> ES module JS) and `transpileModule` (ES module -> CommonJS, tslab's
 *   second step) returns its map too. Both maps are kept per emitted text, so a runtime position
 *   maps back to the cell's line and column.
 * - is_complete with an `invalid` answer (tslab's says "complete" for any syntax error).
 * - The names a cell declares and a declaration file filtered to some names, so a cell that throws
 *   keeps the declarations it made before the throw.
 */
'use strict';
const path = require('path');
const { SourceMap } = require('module');

/**
 * @typedef {{ inner: object | null, outer: object }} RawMaps
 * @typedef {{ output: string, declOutput: string, diagnostics: any[], hasToplevelAwait: boolean, sideOutputs?: { path: string, data: string }[], lastExpressionVar?: string }} Converted
 */

const INLINE_MAP = /\n\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/;

/**
 * Loads tslab's converter with source maps switched on.
 * @param {string} tslabDir
 */
function loadTslab(tslabDir) {
  const tsPath = require.resolve('@tslab/typescript-for-tslab', { paths: [tslabDir] });
  const real = require(tsPath);
  /** @type {Map<string, RawMaps>} */
  const maps = new Map();
  const cached = require.cache[tsPath];
  if (cached && !cached.exports.__mriseqSourceMaps) {
    /** @type {Record<string, unknown>} */
    const forward = {};
    for (const k of Object.keys(real))
      Object.defineProperty(forward, k, { enumerable: true, configurable: true, get: () => real[k] });
    const value = (/** @type {string} */ k, /** @type {unknown} */ v) =>
      Object.defineProperty(forward, k, { enumerable: true, configurable: true, value: v });
    value('createWatchCompilerHost', (/** @type {any[]} */ ...args) => {
      // (rootFiles, options, system, ...): the options tslab builds for its watch program.
      if (args[1] && typeof args[1] === 'object') args[1] = { ...args[1], inlineSourceMap: true, sourceMap: false };
      return real.createWatchCompilerHost(...args);
    });
    value('transpileModule', (/** @type {string} */ input, /** @type {any} */ opts) => {
      const m = INLINE_MAP.exec(input);
      const inner = m ? JSON.parse(Buffer.from(m[1], 'base64').toString('utf8')) : null;
      const clean = m ? input.slice(0, m.index) + '\n' : input;
      const r = real.transpileModule(clean, {
        ...opts,
        compilerOptions: { ...(opts?.compilerOptions ?? {}), sourceMap: true, inlineSourceMap: false },
      });
      const text = String(r.outputText).replace(/\n?\/\/# sourceMappingURL=\S*\s*$/, '\n');
      if (r.sourceMapText) {
        if (maps.size > 500) maps.delete(/** @type {string} */ (maps.keys().next().value));
        maps.set(text, { inner, outer: JSON.parse(r.sourceMapText) });
      }
      return { ...r, outputText: text };
    });
    value('__mriseqSourceMaps', true);
    cached.exports = forward;
  }
  const converter = require(path.join(tslabDir, 'dist', 'converter.js'));
  return {
    ts: real,
    converter,
    /** The maps of an emitted CommonJS text (cell or side module), if it was ours. @param {string} text */
    mapsOf: (text) => maps.get(text),
  };
}

/**
 * Maps positions of emitted CommonJS back to the TypeScript source it came from.
 * tslab's source file is `export {};\n` + the cell, so its line 1 is the cell's line 1 (0-based
 * line 1 = 1-based cell line 1).
 */
class PositionMap {
  /** @param {RawMaps} raw @param {(line: number, col: number) => [number, number]} [unshift] */
  constructor(raw, unshift) {
    this.outer = new SourceMap(/** @type {any} */ (raw.outer));
    this.inner = raw.inner ? new SourceMap(/** @type {any} */ (raw.inner)) : null;
    this.unshift = unshift;
  }

  /**
   * @param {number} line 0-based line in the CommonJS text @param {number} col 0-based
   * @returns {{ line: number, col: number } | null} 1-based cell line, 1-based column
   */
  toSource(line, col) {
    const e = /** @type {any} */ (this.outer.findEntry(line, col));
    if (!e || e.originalLine === undefined) return null;
    let l = e.originalLine;
    let c = e.originalColumn;
    if (this.inner) {
      const f = /** @type {any} */ (this.inner.findEntry(l, c));
      if (!f || f.originalLine === undefined) return null;
      l = f.originalLine;
      c = f.originalColumn;
    }
    // l is 0-based in "export {};\n" + source: the cell's 1-based line number.
    if (l < 1) return null;
    if (this.unshift) [l, c] = this.unshift(l, c);
    return { line: l, col: c + 1 };
  }
}

/**
 * Whether a cell awaits at its top level (so it must run in an async function). tslab decides
 * this from a compiler diagnostic that `await (async () => 1)()` does not produce; we look at the
 * syntax tree.
 * @param {any} ts @param {string} src
 */
function hasTopLevelAwait(ts, src) {
  const sf = ts.createSourceFile('cell.ts', 'export {};\n' + src, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  let found = false;
  /** @param {any} node */
  const visit = (node) => {
    if (found) return;
    if (
      ts.isFunctionLike(node) ||
      ts.isClassLike(node) ||
      node.kind === ts.SyntaxKind.ModuleDeclaration
    ) {
      // Class field initialisers and static blocks cannot await either; stop at every boundary.
      return;
    }
    if (node.kind === ts.SyntaxKind.AwaitExpression) found = true;
    else if (ts.isForOfStatement(node) && node.awaitModifier) found = true;
    else ts.forEachChild(node, visit);
  };
  ts.forEachChild(sf, visit);
  return found;
}

/**
 * Rewrites shorthand properties `{ seed }` to `{ seed: seed }`. tslab's emit reads an earlier
 * cell's variable through its exports object, but the shorthand form escapes that rewrite and the
 * cell fails with "seed is not defined". Returns the new text and a function mapping a position
 * in it back to the original (only columns move: nothing adds a line).
 * @param {any} ts @param {string} src
 * @returns {{ text: string, unshift?: (line: number, col: number) => [number, number] }}
 */
function expandShorthand(ts, src) {
  const sf = ts.createSourceFile('cell.ts', src, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  /** @type {{ pos: number, text: string }[]} */
  const inserts = [];
  /** @param {any} node */
  const visit = (node) => {
    if (ts.isShorthandPropertyAssignment(node)) {
      const name = node.name.text;
      inserts.push({ pos: node.name.end, text: `: ${name}` });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  if (inserts.length === 0) return { text: src };
  inserts.sort((a, b) => a.pos - b.pos);
  let out = '';
  let last = 0;
  for (const ins of inserts) {
    out += src.slice(last, ins.pos) + ins.text;
    last = ins.pos;
  }
  out += src.slice(last);
  // Per original line: the insertions on it (column in the original, length).
  /** @type {Map<number, { col: number, len: number }[]>} */
  const byLine = new Map();
  for (const ins of inserts) {
    const lc = sf.getLineAndCharacterOfPosition(ins.pos);
    const list = byLine.get(lc.line) ?? [];
    list.push({ col: lc.character, len: ins.text.length });
    byLine.set(lc.line, list);
  }
  return {
    text: out,
    // (1-based cell line, 0-based column in the rewritten text) -> same in the original.
    unshift: (line, col) => {
      const list = byLine.get(line - 1);
      if (!list) return [line, col];
      let shift = 0;
      for (const { col: at, len } of list) {
        if (col >= at + shift + len) shift += len;
        else if (col >= at + shift) return [line, at];
        else break;
      }
      return [line, col - shift];
    },
  };
}

/**
 * Value names a cell declares at its top level (variables, functions, classes, enums, namespaces,
 * imports), which a failed run may have left unassigned.
 * @param {any} ts @param {string} src
 * @returns {Set<string>}
 */
function declaredValueNames(ts, src) {
  const sf = ts.createSourceFile('cell.ts', src, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  /** @type {Set<string>} */
  const names = new Set();
  /** @param {any} b */
  const bind = (b) => {
    if (!b) return;
    if (ts.isIdentifier(b)) names.add(b.text);
    else if (ts.isObjectBindingPattern(b) || ts.isArrayBindingPattern(b))
      for (const el of b.elements) if (!ts.isOmittedExpression(el)) bind(el.name);
  };
  for (const st of sf.statements) {
    if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) bind(d.name);
    else if (
      (ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st) || ts.isEnumDeclaration(st) || ts.isModuleDeclaration(st)) &&
      st.name &&
      ts.isIdentifier(st.name)
    )
      names.add(st.name.text);
    else if (ts.isImportDeclaration(st) && st.importClause && !st.importClause.isTypeOnly) {
      const ic = st.importClause;
      if (ic.name) names.add(ic.name.text);
      const nb = ic.namedBindings;
      if (nb && ts.isNamespaceImport(nb)) names.add(nb.name.text);
      else if (nb) for (const el of nb.elements) if (!el.isTypeOnly) names.add(el.name.text);
    } else if (ts.isImportEqualsDeclaration(st)) names.add(st.name.text);
  }
  return names;
}

/**
 * The declarations to carry on after a cell failed part-way: the cell's new declaration file
 * without the value names it never assigned, plus the earlier cells' declarations of those names
 * (a name the cell meant to redeclare keeps its old type and value).
 * @param {any} ts @param {string} prevDecl @param {string} newDecl @param {Set<string>} unassigned
 */
function declarationsAfterFailure(ts, prevDecl, newDecl, unassigned) {
  if (unassigned.size === 0) return newDecl;
  const printer = ts.createPrinter({ newLine: ts.NewLineKind.LineFeed });
  /**
   * Statements of a declaration file restricted by a name filter.
   * @param {string} text @param {(name: string) => boolean} keep @param {boolean} keepTypes
   */
  const filter = (text, keep, keepTypes) => {
    const sf = ts.createSourceFile('decl.d.ts', text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    /** @type {string[]} */
    const out = [];
    for (const st of sf.statements) {
      if (ts.isVariableStatement(st)) {
        const decls = st.declarationList.declarations.filter(
          (/** @type {any} */ d) => !ts.isIdentifier(d.name) || keep(d.name.text),
        );
        if (decls.length === st.declarationList.declarations.length) out.push(st.getText(sf));
        else if (decls.length > 0)
          out.push(
            printer.printNode(
              ts.EmitHint.Unspecified,
              ts.factory.updateVariableStatement(
                st,
                st.modifiers,
                ts.factory.updateVariableDeclarationList(st.declarationList, decls),
              ),
              sf,
            ),
          );
      } else if (
        (ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st) || ts.isEnumDeclaration(st) || ts.isModuleDeclaration(st)) &&
        st.name &&
        ts.isIdentifier(st.name)
      ) {
        if (keep(st.name.text)) out.push(st.getText(sf));
      } else if (ts.isImportDeclaration(st) && st.importClause) {
        const ic = st.importClause;
        /** @type {string[]} */
        const bound = [];
        if (ic.name) bound.push(ic.name.text);
        const nb = ic.namedBindings;
        if (nb && ts.isNamespaceImport(nb)) bound.push(nb.name.text);
        else if (nb) for (const el of nb.elements) bound.push(el.name.text);
        if (bound.length > 0 && bound.every(keep)) out.push(st.getText(sf));
      } else if (keepTypes) out.push(st.getText(sf));
    }
    return out;
  };
  const kept = filter(newDecl, (n) => !unassigned.has(n), true);
  const restored = filter(prevDecl, (n) => unassigned.has(n), false);
  return [...kept, ...restored].join('\n') + '\n';
}

/**
 * is_complete: 'complete', 'incomplete' (the code could go on: an unclosed block, bracket,
 * comment or template) or 'invalid' (a syntax error no continuation can fix).
 * @param {any} ts @param {string} code
 * @returns {{ status: 'complete' | 'incomplete' | 'invalid', indent?: string }}
 */
function isComplete(ts, code) {
  const sf = ts.createSourceFile('cell.tsx', code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  /** @type {any[]} */
  const diags = sf.parseDiagnostics ?? [];
  if (diags.length === 0) return { status: 'complete' };
  const end = code.trimEnd().length;
  const atEnd = (/** @type {any} */ d) => d.start >= end;
  const continuable = (/** @type {any} */ d) => {
    const m = typeof d.messageText === 'string' ? d.messageText : String(d.messageText?.messageText ?? '');
    return / expected\.$/.test(m) || /^Unterminated template literal/.test(m) || /^'\*\/' expected/.test(m);
  };
  if (!diags.every((d) => atEnd(d) && continuable(d))) return { status: 'invalid' };
  // A trailing blank line: the user wants to run what is there (as tslab and IPython do).
  if (/(^|\n)\s*\n\s*$/.test(code)) return { status: 'complete' };
  return { status: 'incomplete', indent: indentAfter(code) };
}

/** The indent of the next line: one step more after an opening bracket. @param {string} code */
function indentAfter(code) {
  const line = /[^\n]*$/.exec(code)?.[0] ?? '';
  const current = /^\s*/.exec(line)?.[0] ?? '';
  return /[{([]\s*$/.test(line) ? current + '  ' : current;
}

module.exports = {
  loadTslab,
  PositionMap,
  hasTopLevelAwait,
  expandShorthand,
  declaredValueNames,
  declarationsAfterFailure,
  isComplete,
};
