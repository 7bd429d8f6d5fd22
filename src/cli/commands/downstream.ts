/**
 * Downstream commands: `mriseq classify` (3D ResNet with attention on chosen sequences, optionally
 * compared with MRI + M_d; AUC with bootstrap CI, ROC, per-class report, Grad-CAM NIfTIs) and
 * `mriseq cluster` (contrastive autoencoder + k-means, scored against a label column when given).
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { withRunLock, writeFileAtomicSync } from '../../reliability/node.js';
import { classifyCohort } from '../../pipeline/node.js';
import { initEngine } from '../../engine/index.js';
import { MriseqError } from '../../errors/index.js';
import { intOption, numberOption } from '../options.js';
import { Cohort } from '../../cohort/index.js';
import { buildDownstreamDataset, type DownstreamCohort } from '../../classify/index.js';
import { clusterImages } from '../../cluster/index.js';
import { formatCsv } from '../../csv/index.js';
import { cohortStamp, existing, openFolderRecord } from './records.js';
import { REDO_HELP } from './sharding.js';
import { dict, own } from '../../keys/index.js';
import { resolveNames } from './names.js';

async function openCohort(o: { manifest?: string; phantom?: string; seed?: string }): Promise<Cohort> {
  if (o.manifest) return Cohort.fromManifest(o.manifest);
  if (o.phantom) {
    return Cohort.fromPhantom({
      subjects: intOption(o.phantom, '--phantom', 1),
      seed: intOption(o.seed ?? '0', '--seed'),
      size: [32, 32, 16],
    });
  }
  throw new MriseqError('no cohort given', {
    field: '--manifest',
    expected: '--manifest FILE or --phantom N',
    code: 'cli.option',
  });
}

/** 'g1=a,b;g2=c,d' -> { g1: ['a', 'b'], g2: ['c', 'd'] }. */
function parseGroups(spec: string): Record<string, string[]> {
  const out = dict<string[]>();
  for (const part of spec.split(';').filter((p) => p.trim())) {
    const [g, rest] = part.split('=');
    const subs = (rest ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    if (!g?.trim() || subs.length === 0) {
      throw new MriseqError('cannot read the class groups', {
        field: '--groups',
        found: part,
        expected: 'group=subtype,subtype;group=subtype,...',
        code: 'cli.groups',
      });
    }
    out[g.trim()] = subs;
  }
  return out;
}

/** The run lock is taken on the folder a command writes. */
const outFolder = (o: { out: string }): string => o.out;

/** The --label option must name one of the manifest's label columns. */
function requireLabel(
  cohort: { labelNames: readonly string[] },
  manifest: string | undefined,
  label: string,
): void {
  if (cohort.labelNames.includes(label)) return;
  throw new MriseqError('label column not in the manifest', {
    file: manifest,
    field: '--label',
    found: label,
    expected: cohort.labelNames.join(', ') || 'a manifest with label columns',
    code: 'cli.label',
  });
}

export function registerDownstream(program: Command): void {
  program
    .command('classify')
    .description('train a 3D ResNet (CBAM attention) on a label column; AUC with 95% CI, ROC, Grad-CAM')
    .option('--manifest <file>', 'cohort manifest with label columns')
    .option('--phantom <n>', 'use N simulated subjects (32x32x16) instead of a manifest')
    .requiredOption('--label <column>', 'label column to predict')
    .option('--sequences <list>', 'input sequences, comma-separated (default: all of the cohort)')
    .option(
      '--with-maps <dir>',
      'also train on MRI + M_d channels read from <dir>/<subject>/md_<target>.nii.gz',
    )
    .option('--map-targets <list>', 'M_d targets to add (default: the chosen sequences)')
    .option('--depth <n>', 'ResNet depth: 6 or 18', '6')
    .option('--no-attention', 'switch the CBAM attention off')
    .option('--width <n>', 'first-stage width', '8')
    .option('--epochs <n>', 'maximum epochs (early stopping on validation loss)', '30')
    .option('--downsample <n>', 'average-pool volumes by this factor first', '1')
    .option('--test-fraction <f>', 'held-out fraction (stratified)', '0.3')
    .option('--seed <n>', 'seed of split, initialisation and bootstrap', '0')
    .option('--gradcam', 'write Grad-CAM NIfTIs of the test subjects')
    .option(
      '--groups <spec>',
      "hierarchical: group first, then subtype; e.g. 'lung=sclc,nsclc;other=breast,gi' (label values are the subtypes)",
    )
    .requiredOption('--out <dir>', 'output folder')
    .option('--redo', REDO_HELP)
    .option('--json', 'print the metrics as JSON')
    .action(
      withRunLock(
        'classify',
        outFolder,
        async (o: {
          manifest?: string;
          phantom?: string;
          label: string;
          sequences?: string;
          withMaps?: string;
          mapTargets?: string;
          depth: string;
          attention: boolean;
          width: string;
          epochs: string;
          downsample: string;
          testFraction: string;
          seed: string;
          gradcam?: boolean;
          groups?: string;
          out: string;
          redo?: boolean;
          json?: boolean;
        }) => {
          const groups = o.groups ? parseGroups(o.groups) : undefined;
          const depth = Number(o.depth);
          if (depth !== 6 && depth !== 18) {
            throw new MriseqError('unsupported depth', {
              field: '--depth',
              found: o.depth,
              expected: '6 or 18',
              code: 'cli.option',
            });
          }
          const result = await classifyCohort({
            manifest: o.manifest,
            phantom: o.phantom
              ? { subjects: intOption(o.phantom, '--phantom', 1), seed: intOption(o.seed ?? '0', '--seed') }
              : undefined,
            label: o.label,
            sequences: o.sequences,
            withMaps: o.withMaps,
            mapTargets: o.mapTargets,
            depth,
            attention: o.attention,
            width: intOption(o.width, '--width', 1),
            epochs: intOption(o.epochs, '--epochs', 1),
            downsample: intOption(o.downsample, '--downsample', 1),
            testFraction: numberOption(o.testFraction, '--test-fraction', 0, 1),
            seed: intOption(o.seed, '--seed'),
            gradcam: o.gradcam,
            groups,
            out: o.out,
            redo: o.redo,
            names: {
              manifest: '--manifest',
              label: '--label',
              sequences: '--sequences',
              mapTargets: '--map-targets',
            },
            onEpoch: (e) =>
              process.stderr.write(
                `epoch ${e.epoch + 1}: train ${e.trainLoss.toFixed(4)} val ${e.valLoss.toFixed(4)}\n`,
              ),
          });
          if (o.json) console.log(JSON.stringify(result.summary));
          else if (result.hierarchical) {
            const h = result.hierarchical.hierarchical;
            const f = (auc: number, ci95: [number, number]) =>
              `${auc.toFixed(3)} (95% CI ${ci95[0].toFixed(3)}-${ci95[1].toFixed(3)})`;
            console.log(
              `group AUC ${f(h.groupAuc, h.groupAuc_ci95)}; subtype AUC (one-vs-rest macro) ${f(h.leafAuc, h.leafAuc_ci95)}; ${h.testSubjects} test subjects`,
            );
            console.log(`wrote ${result.metrics}`);
          } else {
            for (const r of result.runs) {
              const e = r.evaluation;
              console.log(
                `${r.name.padEnd(10)} channels ${r.channels.join('+')}: AUC ${e.auc.toFixed(3)} ` +
                  `(95% CI ${e.ci95[0].toFixed(3)}-${e.ci95[1].toFixed(3)}), accuracy ${e.report.accuracy.toFixed(3)}, ` +
                  `${r.testIds.length} test subjects`,
              );
            }
            console.log(`wrote ${result.metrics}`);
          }
        },
      ),
    );

  program
    .command('cluster')
    .description('contrastive autoencoder + k-means on one sequence; accuracy/NMI/ARI vs a label column')
    .option('--manifest <file>', 'cohort manifest')
    .option('--phantom <n>', 'use N simulated subjects (32x32x16) instead of a manifest')
    .option('--label <column>', 'label column to score the clusters against (never used for training)')
    .option('--sequence <name>', 'sequence to cluster on', 't1gd')
    .option('--k <n>', 'number of clusters (default: chosen by silhouette)')
    .option('--epochs <n>', 'autoencoder epochs', '20')
    .option('--downsample <n>', 'average-pool volumes by this factor first', '2')
    .option('--seed <n>', 'seed', '0')
    .requiredOption('--out <dir>', 'output folder')
    .option('--redo', REDO_HELP)
    .option('--json', 'print the summary as JSON')
    .action(
      withRunLock(
        'cluster',
        outFolder,
        async (o: {
          manifest?: string;
          phantom?: string;
          label?: string;
          sequence: string;
          k?: string;
          epochs: string;
          downsample: string;
          seed: string;
          out: string;
          redo?: boolean;
          json?: boolean;
        }) => {
          await initEngine();
          const cohort = await openCohort(o);
          if (o.label) requireLabel(cohort, o.manifest, o.label);
          const record = openFolderRecord(
            o.out,
            'cluster',
            {
              data: await cohortStamp(cohort),
              label: o.label ?? null,
              sequence: o.sequence,
              k: o.k ?? null,
              epochs: o.epochs,
              downsample: o.downsample,
              seed: o.seed,
            },
            o.redo,
            (dir) => existing(dir, ['cluster.json', 'clusters.csv']),
          );
          // The classifier dataset builder does the loading; a constant label keeps every subject.
          const dc = cohort as unknown as DownstreamCohort;
          const data = await buildDownstreamDataset(
            {
              ids: dc.ids,
              subject: (id) => {
                const s = dc.subject(id);
                return { id: s.id, available: s.available, labels: { all: 'x' }, load: (q) => s.load(q) };
              },
            },
            {
              label: 'all',
              sequences: resolveNames(o.sequence, cohort.sequences, '--sequence')!.slice(0, 1),
              downsample: intOption(o.downsample, '--downsample', 1),
            },
          );
          // The autoencoder halves each axis twice: crop to multiples of 4.
          const [D, H, W] = data.shape;
          const [d, h, w] = [D, H, W].map((n) => n - (n % 4));
          const inputs = data.inputs.map((x) => {
            const out = new Float32Array(d * h * w);
            for (let z = 0; z < d; z++)
              for (let y = 0; y < h; y++)
                for (let xx = 0; xx < w; xx++) out[(z * h + y) * w + xx] = x[(z * H + y) * W + xx];
            return out;
          });
          const labels = o.label
            ? data.ids.map((id) => String(own(cohort.subject(id).labels, o.label!) ?? ''))
            : undefined;
          const r = await clusterImages(
            { shape: [d, h, w, 1], inputs, ids: data.ids },
            {
              k: o.k ? intOption(o.k, '--k', 1) : undefined,
              labels,
              epochs: intOption(o.epochs, '--epochs', 1),
              seed: intOption(o.seed, '--seed'),
              batchSize: 8,
              onEpoch: (e) => process.stderr.write(`epoch ${e.epoch + 1}: loss ${e.loss.toFixed(4)}\n`),
            },
          );
          const summary = {
            sequence: o.sequence,
            subjects: data.ids.length,
            k: r.k,
            silhouettes: r.silhouettes,
            evaluation: r.evaluation,
            label: o.label,
          };
          writeFileAtomicSync(join(o.out, 'cluster.json'), JSON.stringify(summary, null, 1));
          writeFileAtomicSync(
            join(o.out, 'clusters.csv'),
            formatCsv(
              ['id', 'cluster', ...(labels ? ['label'] : [])],
              data.ids.map((id, i) => [id, r.clusters[i], ...(labels ? [labels[i]] : [])]),
            ),
          );
          record.finish(['cluster.json', 'clusters.csv']);
          if (o.json) console.log(JSON.stringify(summary));
          else {
            console.log(`k = ${r.k} clusters over ${data.ids.length} subjects (${o.sequence})`);
            if (r.evaluation) {
              const e = r.evaluation;
              console.log(
                `vs ${o.label}: accuracy ${e.accuracy.toFixed(3)}, NMI ${e.nmi.toFixed(3)}, ARI ${e.ari.toFixed(3)}; ` +
                  `supervised baseline (logistic regression on the latent) ${e.baseline.accuracy.toFixed(3)} on ${e.baseline.testSubjects} held-out`,
              );
            }
            console.log(`wrote ${join(o.out, 'cluster.json')}`);
          }
          r.autoencoder.dispose();
        },
      ),
    );
}
