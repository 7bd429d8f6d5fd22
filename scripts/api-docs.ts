/**
 * The API reference's checks, shared by test/docs/api-docs.test.ts and `npm run docs:api`:
 * which public exports lack a doc comment, an @example or a @param per parameter, and whether
 * every @example still compiles against the public entry point.
 *
 * The export list is the TypeScript checker's own (getExportsOfModule on the entry, aliases
 * followed to the declaration), so a new export or a renamed one is seen without a hand-kept list.
 * Examples are type-checked in one program with the project's TypeScript (node_modules/typescript),
 * with 'mriseq' mapped to src/index.ts: the same names a user imports from the package.
 */
import ts from 'typescript';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..');
export const ENTRY = join(ROOT, 'src', 'index.ts');
/** The browser build's entry (the teaching site's global `mriseq`); examples import it as 'mriseq/browser'. */
export const BROWSER_ENTRY = join(ROOT, 'src', 'browser.ts');

export interface ApiExport {
  /** The exported name, as a user imports it. */
  name: string;
  /** What the declaration is: function, class, interface, type, variable, namespace. */
  kind: string;
  /** Where the declaration is (root-relative path and 1-based line), for messages. */
  where: string;
  /** Whether the declaration (or, for a re-exported external namespace, its export) has a doc comment. */
  documented: boolean;
  /** The TypeScript code blocks of its @example tags. */
  examples: string[];
  /** Parameters of a function export that no @param tag describes. */
  undocumentedParams: string[];
}

function compilerOptions(): ts.CompilerOptions {
  const file = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  if (file.error) throw new Error(ts.flattenDiagnosticMessageText(file.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(file.config, ts.sys, ROOT);
  return { ...parsed.options, noEmit: true, declaration: false, sourceMap: false };
}

/** The code blocks (```ts / ```typescript) in an @example tag's text. */
export function codeBlocks(text: string): string[] {
  const out: string[] = [];
  const re = /```(?:ts|typescript)\s*\n([\s\S]*?)```/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1]!);
  return out;
}

function kindOf(decl: ts.Declaration): string {
  if (ts.isFunctionDeclaration(decl)) return 'function';
  if (ts.isClassDeclaration(decl)) return 'class';
  if (ts.isInterfaceDeclaration(decl)) return 'interface';
  if (ts.isTypeAliasDeclaration(decl)) return 'type';
  if (ts.isVariableDeclaration(decl)) return 'variable';
  if (ts.isEnumDeclaration(decl)) return 'enum';
  if (ts.isModuleDeclaration(decl) || ts.isSourceFile(decl)) return 'namespace';
  return ts.SyntaxKind[decl.kind];
}

function docsOf(node: ts.Node): { text: boolean; tags: readonly ts.JSDocTag[] } {
  const host = ts.isVariableDeclaration(node) ? node.parent.parent : node;
  let text = false;
  const tags: ts.JSDocTag[] = [];
  for (const d of ts.getJSDocCommentsAndTags(host)) {
    if (!ts.isJSDoc(d)) continue;
    const c = ts.getTextOfJSDocComment(d.comment);
    if (c && c.trim()) text = true;
    tags.push(...(d.tags ?? []));
  }
  return { text, tags };
}

/** The program of the public entry points, which the examples' program reuses. */
export function entryProgram(entries = [ENTRY]): ts.Program {
  return ts.createProgram(entries, compilerOptions());
}

/** Every export of `entry` with what its documentation has and lacks. */
export function apiInventory(entry = ENTRY, program = entryProgram([entry])): ApiExport[] {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  if (!source) throw new Error(`${entry} is not in the program`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error(`${entry} is not a module`);
  const out: ApiExport[] = [];
  for (const sym of checker.getExportsOfModule(moduleSymbol)) {
    // The alias chain's own doc comments count only for a target outside the project (tf).
    const aliasDocs: { text: boolean; tags: readonly ts.JSDocTag[] }[] = [];
    let target = sym;
    const seen = new Set<ts.Symbol>();
    while (target.flags & ts.SymbolFlags.Alias && !seen.has(target)) {
      seen.add(target);
      for (const d of target.declarations ?? []) {
        const stmt = ts.isExportSpecifier(d) ? d.parent.parent : d;
        aliasDocs.push(docsOf(stmt));
      }
      target = checker.getImmediateAliasedSymbol(target) ?? target;
    }
    const decls = (target.declarations ?? []).filter((d) => !ts.isSourceFile(d) || true);
    const own = decls.filter((d) => !d.getSourceFile().fileName.includes('/node_modules/'));
    const docs = own.length > 0 ? own.map(docsOf) : aliasDocs;
    const first = own[0] ?? decls[0];
    const sf = first?.getSourceFile();
    const line = first && sf ? sf.getLineAndCharacterOfPosition(first.getStart()).line + 1 : 0;
    const tags = docs.flatMap((d) => d.tags);
    const examples = tags
      .filter((t) => t.tagName.text === 'example')
      .flatMap((t) => codeBlocks(ts.getTextOfJSDocComment(t.comment) ?? ''));
    const paramNames = new Set(
      tags.filter(ts.isJSDocParameterTag).map(
        (t) =>
          t.name
            .getText()
            .replace(/^\[|\]$/g, '')
            .split('.')[0],
      ),
    );
    const undocumentedParams: string[] = [];
    for (const d of own) {
      if (!ts.isFunctionDeclaration(d)) continue;
      for (const p of d.parameters) {
        const n = ts.isIdentifier(p.name) ? p.name.text : undefined;
        if (n && !paramNames.has(n) && !undocumentedParams.includes(n)) undocumentedParams.push(n);
      }
    }
    out.push({
      name: sym.name,
      kind: first ? kindOf(first) : 'unknown',
      where: sf ? `${sf.fileName.replace(ROOT + '/', '')}:${line}` : '?',
      documented: docs.some((d) => d.text),
      examples,
      undocumentedParams,
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export interface ExampleProblem {
  /** The export whose @example failed. */
  name: string;
  /** The compiler's message, with the line inside the example. */
  message: string;
}

/** The module names an example may import: the package, its browser build, and Node's built-ins. */
const ALLOWED_IMPORT = /^(mriseq|mriseq\/browser|node:[a-z_/]+)$/;

/**
 * Type-checks every example of `exports` in one program, each example its own ES module
 * (top-level await allowed, as in a notebook cell) importing the package as `mriseq`.
 */
export function checkExamples(exports: ApiExport[], oldProgram?: ts.Program): ExampleProblem[] {
  const dir = join(ROOT, 'test', 'docs', '.examples');
  const files = new Map<string, { name: string; text: string }>();
  for (const e of exports)
    e.examples.forEach((text, i) => {
      const file = join(dir, `${e.name}.${e.where.replace(/[^\w]/g, '_')}.${i}.mts`);
      files.set(file, { name: e.name, text });
    });
  const options: ts.CompilerOptions = {
    ...compilerOptions(),
    baseUrl: ROOT,
    paths: { mriseq: ['src/index.ts'], 'mriseq/browser': ['src/browser.ts'] },
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (f, lang, onError, create) => {
    const ex = files.get(resolve(f));
    if (ex) return ts.createSourceFile(f, ex.text, lang, true);
    return oldProgram?.getSourceFile(f) ?? getSourceFile(f, lang, onError, create);
  };
  host.fileExists = (f) => files.has(resolve(f)) || fileExists(f);
  host.readFile = (f) => files.get(resolve(f))?.text ?? readFile(f);
  const program = ts.createProgram([...files.keys()], options, host);
  const problems: ExampleProblem[] = [];
  for (const [file, { name }] of files) {
    const sf = program.getSourceFile(file);
    if (!sf) {
      problems.push({ name, message: 'the example was not compiled' });
      continue;
    }
    for (const stmt of sf.statements) {
      if ((ts.isImportDeclaration(stmt) || ts.isExportDeclaration(stmt)) && stmt.moduleSpecifier) {
        const spec = (stmt.moduleSpecifier as ts.StringLiteral).text;
        if (!ALLOWED_IMPORT.test(spec))
          problems.push({
            name,
            message: `imports '${spec}': an example imports only 'mriseq' and node: modules`,
          });
      }
    }
    for (const d of [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]) {
      const at = d.start === undefined ? '' : `line ${sf.getLineAndCharacterOfPosition(d.start).line + 1}: `;
      problems.push({ name, message: at + ts.flattenDiagnosticMessageText(d.messageText, '\n') });
    }
  }
  return problems;
}
