/**
 * A hierarchical classifier: a tree whose inner nodes each own a classifier over their children
 * (e.g. lung vs non-lung, then SCLC vs NSCLC and breast vs GI). Leaf probabilities are the
 * products down the tree: P(leaf) = P(group) * P(leaf | group). Each node's classifier is trained
 * only on the subjects under that node.
 */
import { MriseqError } from '../errors/index.js';
import { ResNet3d, type ResNet3dOptions, type ResNet3dConfig, type SerializedWeights } from './resnet.js';
import {
  trainClassifier,
  predictProbabilities,
  subset,
  type ClassifierDataset,
  type TrainClassifierOptions,
  type TrainClassifierResult,
} from './train.js';

/**
 * A tree node: a leaf is a class (no children); an inner node groups its children.
 * @example
 * ```ts
 * import { treeLeaves, type ClassTree } from 'mriseq';
 * const tree: ClassTree = { name: 'origin', children: [{ name: 'lung', children: [{ name: 'SCLC' }, { name: 'NSCLC' }] }, { name: 'breast' }] };
 * console.log(treeLeaves(tree));
 * ```
 */
export interface ClassTree {
  name: string;
  children?: ClassTree[];
}

/**
 * Leaf names in depth-first order: the class order of the hierarchical classifier's output.
 * @param tree - A class tree.
 * @returns The leaf names, depth first.
 * @example
 * ```ts
 * import { treeLeaves } from 'mriseq';
 * console.log(treeLeaves({ name: 'all', children: [{ name: 'a', children: [{ name: 'a1' }, { name: 'a2' }] }, { name: 'b' }] }));
 * // ['a1', 'a2', 'b']
 * ```
 */
export function treeLeaves(tree: ClassTree): string[] {
  return tree.children?.length ? tree.children.flatMap(treeLeaves) : [tree.name];
}

function innerNodes(tree: ClassTree): ClassTree[] {
  return tree.children?.length ? [tree, ...tree.children.flatMap(innerNodes)] : [];
}

export interface HierarchicalFitResult {
  nodes: { node: string; classes: string[]; subjects: number; result?: TrainClassifierResult }[];
}

/**
 * Each inner node with two or more children owns a {@link ResNet3d} trained only on the subjects below it.
 *
 * @example
 * ```ts
 * import { HierarchicalClassifier, treeFromGroups, initEngine } from 'mriseq';
 * await initEngine();
 * const tree = treeFromGroups('lesion', { necrotic: ['necrotic-oedematous', 'necrotic-compact'], solid: ['solid-oedematous', 'solid-compact'] });
 * const h = new HierarchicalClassifier(tree, { inputChannels: ['t2', 'flair'], spatialKernel: 3 });
 * console.log(h.leaves, [...h.models.keys()]); // 4 leaves; models at 'lesion', 'necrotic', 'solid'
 * h.dispose();
 * ```
 */
export class HierarchicalClassifier {
  readonly leaves: string[];
  readonly models = new Map<string, ResNet3d>();

  constructor(
    readonly tree: ClassTree,
    /** Architecture of every node's classifier (classNames are set per node). */
    readonly modelOptions: Omit<ResNet3dOptions, 'classNames'>,
  ) {
    this.leaves = treeLeaves(tree);
    const names = [tree, ...innerNodes(tree).flatMap((n) => n.children ?? [])].map((n) => n.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) {
      throw new MriseqError('class tree node names must be unique', {
        field: 'tree',
        found: dup,
        expected: 'unique names',
        code: 'classify.tree',
      });
    }
    innerNodes(tree).forEach((node, i) => {
      if (node.children!.length < 2) return; // one child: P(child | node) = 1, no model
      this.models.set(
        node.name,
        new ResNet3d({
          ...modelOptions,
          seed: (modelOptions.seed ?? 0) + i,
          classNames: node.children!.map((c) => c.name),
        }),
      );
    });
  }

  /** For every leaf index, the child index taken at each inner node on its path. */
  private leafPaths(): Map<string, { node: ClassTree; child: number }[]> {
    const out = new Map<string, { node: ClassTree; child: number }[]>();
    const walk = (n: ClassTree, path: { node: ClassTree; child: number }[]) => {
      if (!n.children?.length) out.set(n.name, path);
      else n.children.forEach((c, i) => walk(c, [...path, { node: n, child: i }]));
    };
    walk(this.tree, []);
    return out;
  }

  /** Trains every node; `data.labels` are leaf indices (in `leaves` order). */
  async fit(
    data: ClassifierDataset,
    options: TrainClassifierOptions & { onNode?: (node: string) => void } = {},
  ): Promise<HierarchicalFitResult> {
    const paths = this.leafPaths();
    const result: HierarchicalFitResult = { nodes: [] };
    for (const node of innerNodes(this.tree)) {
      const idx: number[] = [];
      const labels: number[] = [];
      data.labels.forEach((l, i) => {
        const step = paths.get(this.leaves[l])?.find((p) => p.node === node);
        if (step) {
          idx.push(i);
          labels.push(step.child);
        }
      });
      const model = this.models.get(node.name);
      const entry = { node: node.name, classes: node.children!.map((c) => c.name), subjects: idx.length };
      if (!model) {
        result.nodes.push(entry);
        continue;
      }
      options.onNode?.(node.name);
      const sub = { ...subset(data, idx), labels };
      let validation = options.validation;
      if (validation) {
        const vi: number[] = [];
        const vl: number[] = [];
        validation.labels.forEach((l, i) => {
          const step = paths.get(this.leaves[l])?.find((p) => p.node === node);
          if (step) {
            vi.push(i);
            vl.push(step.child);
          }
        });
        validation = vi.length ? { ...subset(validation, vi), labels: vl } : undefined;
      }
      const r = await trainClassifier(model, sub, { ...options, validation });
      result.nodes.push({ ...entry, result: r });
    }
    return result;
  }

  /**
   * Leaf probabilities (one row per subject, `leaves` order) and each inner node's own
   * conditional probabilities.
   */
  predict(data: ClassifierDataset, batchSize = 8): { leaf: number[][]; nodes: Map<string, number[][]> } {
    const nodes = new Map<string, number[][]>();
    for (const [name, model] of this.models) nodes.set(name, predictProbabilities(model, data, batchSize));
    const paths = this.leafPaths();
    const leaf = data.inputs.map((_, i) =>
      this.leaves.map((name) =>
        paths.get(name)!.reduce((p, step) => p * (nodes.get(step.node.name)?.[i][step.child] ?? 1), 1),
      ),
    );
    return { leaf, nodes };
  }

  /** Probabilities of the groups at one inner node's level (sum of its leaves), e.g. lung vs non-lung. */
  groupProbabilities(
    leafProbabilities: number[][],
    node = this.tree.name,
  ): { groups: string[]; p: number[][] } {
    const find = (n: ClassTree): ClassTree | undefined =>
      n.name === node ? n : n.children?.map(find).find((x) => x !== undefined);
    const target = find(this.tree);
    if (!target?.children?.length) {
      throw new MriseqError('not an inner node of the class tree', {
        field: 'node',
        found: node,
        expected: innerNodes(this.tree)
          .map((n) => n.name)
          .join(', '),
        code: 'classify.tree',
      });
    }
    const groups = target.children.map((c) => treeLeaves(c).map((l) => this.leaves.indexOf(l)));
    return {
      groups: target.children.map((c) => c.name),
      p: leafProbabilities.map((row) => groups.map((g) => g.reduce((s, j) => s + row[j], 0))),
    };
  }

  serialize(): {
    tree: ClassTree;
    models: { node: string; config: ResNet3dConfig; weights: SerializedWeights[] }[];
  } {
    return {
      tree: this.tree,
      models: [...this.models.entries()].map(([node, m]) => ({ node, ...m.serialize() })),
    };
  }

  /** Rebuilds a trained tree from `serialize()`'s output (every node's config and weights). */
  static deserialize(data: ReturnType<HierarchicalClassifier['serialize']>): HierarchicalClassifier {
    const first = data.models[0]?.config;
    if (!first) {
      throw new MriseqError('hierarchical checkpoint has no node models', {
        field: 'models',
        found: '0',
        expected: 'one model per inner node with two or more children',
        code: 'classify.checkpoint',
      });
    }
    const h = new HierarchicalClassifier(data.tree, { ...first, classNames: undefined } as Omit<
      ResNet3dOptions,
      'classNames'
    >);
    for (const m of data.models) {
      const model = h.models.get(m.node);
      if (!model) {
        throw new MriseqError('checkpoint node is not an inner node of its tree', {
          field: 'models',
          found: m.node,
          expected: [...h.models.keys()].join(', '),
          code: 'classify.checkpoint',
        });
      }
      model.setWeights(m.weights);
    }
    return h;
  }

  dispose(): void {
    for (const m of this.models.values()) m.dispose();
  }
}
