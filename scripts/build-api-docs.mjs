/**
 * Builds the API reference (docs/api/, Markdown that GitHub renders) with TypeDoc and
 * typedoc-plugin-markdown from src/index.ts (module 'mriseq') and src/browser.ts (module
 * 'mriseq/browser', listing only what it adds). `npm run docs:api` writes docs/api/ (`-- --out DIR`
 * elsewhere); `npm run docs:api:check` rebuilds into a temp folder and fails, naming the files, when
 * docs/api/ differs. The output is deterministic: no source links (their line numbers would churn
 * with every edit), no dates, no generator stamp, so a rebuild on unchanged sources gives no diff.
 * Exports are grouped by the src/ folder (module) that declares them.
 */
import { Application, Comment, CommentTag, Converter } from 'typedoc';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** The category of a module folder, as the reference's index names it. */
const MODULES = {
  errors: 'Errors',
  engine: 'Engine',
  volume: 'Volume',
  io: 'NIfTI I/O',
  phantom: 'Phantom',
  cohort: 'Cohort',
  model: 'Generator',
  train: 'Training',
  pretrained: 'Shipped generators',
  pipeline: 'Demo pipeline',
  analysis: 'Analysis',
  classify: 'Downstream classification',
  cluster: 'Clustering',
  plot: 'Plots',
  display: 'Display',
  scale: 'Scale-out',
  reliability: 'Reliability',
  csv: 'CSV',
  interrupt: 'Interrupts',
  random: 'Seeded randomness',
};

/** Renders the reference into `out` (replaced). */
export async function buildApiDocs(out = join(ROOT, 'docs', 'api')) {
  const app = await Application.bootstrapWithPlugins({
    entryPoints: [join(ROOT, 'src', 'index.ts'), join(ROOT, 'src', 'browser.ts')],
    tsconfig: join(ROOT, 'tsconfig.build.json'),
    plugin: ['typedoc-plugin-markdown'],
    out,
    readme: join(ROOT, 'scripts', 'api-readme.md'),
    name: 'mriseq',
    disableSources: true,
    excludeExternals: true,
    excludePrivate: true,
    excludeProtected: true,
    // mriseq/browser re-exports most of mriseq: only the names it adds get a listing of their own.
    excludeReferences: true,
    hideGenerator: true,
    categorizeByGroup: false,
    sort: ['alphabetical'],
    // Types a signature names but src/index.ts does not export are listed as warnings, not errors.
    validation: { notExported: false, invalidLink: true },
    logLevel: 'Warn',
  });
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    // Top-level exports of either entry point (their parent is the entry's module).
    if (reflection.parent?.parent !== context.project) return;
    const file = context.getSymbolFromReflection(reflection)?.declarations?.[0]?.getSourceFile().fileName;
    if (!file) return;
    const folder = relative(join(ROOT, 'src'), file).split(sep)[0] ?? '';
    const category = MODULES[folder];
    if (!category) return;
    reflection.comment ??= new Comment();
    if (!reflection.comment.blockTags.some((t) => t.tag === '@category'))
      reflection.comment.blockTags.push(new CommentTag('@category', [{ kind: 'text', text: category }]));
  });
  const project = await app.convert();
  if (!project) throw new Error('TypeDoc could not convert src/index.ts (see the messages above)');
  rmSync(out, { recursive: true, force: true });
  await app.generateOutputs(project);
  if (app.logger.hasErrors()) throw new Error('TypeDoc reported errors (see above)');
}

/** Every file under `dir`, relative to it, sorted. */
function filesUnder(dir, base = dir) {
  let out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    out = statSync(p).isDirectory() ? out.concat(filesUnder(p, base)) : out.concat(relative(base, p));
  }
  return out;
}

/** Files that differ between two folders (added, removed or changed). */
export function diffFolders(a, b) {
  const fa = filesUnder(a);
  const fb = filesUnder(b);
  const all = [...new Set([...fa, ...fb])].sort();
  return all.filter((f) => {
    if (!fa.includes(f) || !fb.includes(f)) return true;
    return !readFileSync(join(a, f)).equals(readFileSync(join(b, f)));
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const i = args.indexOf('--out');
  const committed = join(ROOT, 'docs', 'api');
  const tmp = check ? mkdtempSync(join(tmpdir(), 'mriseq-api-')) : undefined;
  const out = tmp ?? (i >= 0 ? resolve(args[i + 1] ?? '') : committed);
  const t0 = Date.now();
  buildApiDocs(out).then(
    () => {
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      if (!check)
        return console.log(
          `docs:api: wrote ${out.startsWith(ROOT) ? relative(ROOT, out) : out} in ${secs} s`,
        );
      const stale = diffFolders(committed, out);
      rmSync(out, { recursive: true, force: true });
      if (stale.length === 0) return console.log(`docs:api: docs/api is up to date (${secs} s)`);
      console.error(
        `docs:api: docs/api is out of date; run npm run docs:api. Differs:\n  ${stale.join('\n  ')}`,
      );
      process.exit(1);
    },
    (e) => {
      console.error(`docs:api: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
}
