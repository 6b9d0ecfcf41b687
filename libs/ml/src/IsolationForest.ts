import { MlInputError } from './errors';
import type { FeatureMatrix } from './FeatureMatrix';
import { Rng } from './Rng';
import { concatNodes, decodePreorder, encodePreorder, flattenTrees, sumLeafValues, sectionAt, type PreorderTrees } from './preorderTrees';
import { checkInteger, checkNumber } from './checkParam';

export interface IsolationForestOptions {
  /** Number of isolation trees (default 100). */
  nEstimators?: number;
  /** Rows drawn without replacement per tree, ψ (default 256; capped at the row count). */
  maxSamples?: number;
  /** Expected share of anomalies in the training data, in (0, 0.5] (default 0.1); sets `threshold`. */
  contamination?: number;
  /** Seed (default 0). */
  seed?: number;
}

const EULER_GAMMA = 0.5772156649015329;

/**
 * c(n): average path length of an unsuccessful search in a binary search tree of n items
 * (Liu, Ting & Zhou 2008), used both to normalize scores and to credit a leaf that still holds
 * n > 1 rows. c(1) = 0, c(2) = 1, c(256) ≈ 10.24.
 */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}

/** What `IsolationForest.toState` returns: the forest as typed arrays and numbers only. */
export interface IsolationForestState {
  nFeatures: number;
  sampleSize: number;
  treeOffsets: Int32Array;
  feature: Int32Array;
  threshold: Float64Array;
  right: Int32Array;
  leafSize: Int32Array;
  pathLength: Float64Array;
  scoreThreshold: number;
  contamination: number;
  trainScores: Float64Array;
}

/**
 * Isolation Forest (Liu et al. 2008; same tree construction and scoring as scikit-learn):
 * each tree isolates a subsample of ψ rows by splitting a random non-constant feature at a
 * uniform random point between its node min and max, down to depth ⌈log₂ ψ⌉.
 *
 * Score convention — the paper's, not scikit-learn's sign: `score = 2^(−E[h(x)] / c(ψ))` in (0, 1],
 * **higher = more anomalous**; ≈ 0.5 for ordinary points, → 1 for points isolated in few splits.
 * scikit-learn's `score_samples` is exactly `−score`. Label −1 (anomaly) when `score > threshold`,
 * `threshold` being the (1 − contamination) quantile of the training scores (linear interpolation,
 * as scikit-learn's `offset_`), else 1.
 * Memory: ≤ 2ψ − 1 nodes per tree (~51k nodes for the defaults).
 */
export class IsolationForest {
  private constructor(
    readonly nFeatures: number,
    readonly sampleSize: number,
    readonly treeOffsets: Int32Array,
    readonly feature: Int32Array,
    readonly threshold: Float64Array,
    readonly right: Int32Array,
    /** Leaves: rows of the subsample that reached the leaf (internal nodes: 0). */
    readonly leafSize: Int32Array,
    /** Leaves: depth + c(leafSize), the path length credited to a row ending there. */
    readonly pathLength: Float64Array,
    /** Score above which a row is labelled −1. */
    readonly scoreThreshold: number,
    readonly contamination: number,
    /** Scores of the training rows (empty after decoding). */
    readonly trainScores: Float64Array,
  ) {}

  /** Every array the forest holds, as plain typed arrays (what a decoding worker hands back; see `toTransferable`). */
  toState(): IsolationForestState {
    const { nFeatures, sampleSize, treeOffsets, feature, threshold, right, leafSize, pathLength, scoreThreshold, contamination, trainScores } = this;
    return { nFeatures, sampleSize, treeOffsets, feature, threshold, right, leafSize, pathLength, scoreThreshold, contamination, trainScores };
  }

  /** The forest of `toState`, rebuilt without recomputing anything. */
  static fromState(s: IsolationForestState): IsolationForest {
    const n = s.feature.length;
    if (s.treeOffsets[s.treeOffsets.length - 1] !== n || [s.threshold, s.right, s.leafSize, s.pathLength].some((a) => a.length !== n)) {
      throw new RangeError(`isolation forest state arrays disagree on the node count (${n})`);
    }
    return new IsolationForest(s.nFeatures, s.sampleSize, s.treeOffsets, s.feature, s.threshold, s.right, s.leafSize, s.pathLength, s.scoreThreshold, s.contamination, s.trainScores);
  }

  get nTrees(): number {
    return this.treeOffsets.length - 1;
  }

  /**
   * The options with their defaults filled in, each checked (MlInputError naming `params.<option>`):
   * what `fit` trains with, and what trainModel checks a request's params with before reading rows.
   */
  static checkOptions(options: IsolationForestOptions): Required<IsolationForestOptions> {
    const o = { nEstimators: options.nEstimators ?? 100, maxSamples: options.maxSamples ?? 256, contamination: options.contamination ?? 0.1, seed: options.seed ?? 0 };
    checkInteger(o.nEstimators, 'params.nEstimators', 1, 10_000);
    checkInteger(o.maxSamples, 'params.maxSamples', 2, 1 << 24);
    checkNumber(o.contamination, 'params.contamination', 0, 0.5, false);
    checkInteger(o.seed, 'params.seed', 0, 0xffffffff);
    return o;
  }

  static fit(x: FeatureMatrix, options: IsolationForestOptions = {}, onProgress?: (fraction: number) => void): IsolationForest {
    const { nEstimators: nTrees, maxSamples, contamination, seed } = IsolationForest.checkOptions(options);
    const { data, nRows: n, nCols: p } = x;
    if (n < 1) throw new MlInputError('isolation forest needs at least one row', 'rows');
    const psi = Math.min(maxSamples, n);
    const heightLimit = Math.max(0, Math.ceil(Math.log2(psi)));
    const rng = new Rng(seed);
    const perm = new Int32Array(n);
    for (let i = 0; i < n; i++) perm[i] = i;
    const idx = new Int32Array(psi);
    const featOrder = new Int32Array(p);
    const cap = 2 * psi - 1;
    const sFeature = new Int32Array(cap);
    const sThreshold = new Float64Array(cap);
    const sRight = new Int32Array(cap);
    const sLeaf = new Int32Array(cap);
    const stack = new Int32Array((heightLimit + 2) * 5);
    const trees: { feature: Int32Array; threshold: Float64Array; right: Int32Array; leafSize: Int32Array }[] = [];

    for (let t = 0; t < nTrees; t++) {
      const tr = new Rng(rng.nextUint32());
      for (let i = 0; i < psi; i++) {
        const j = i + tr.nextInt(n - i);
        const v = perm[i]!;
        perm[i] = perm[j]!;
        perm[j] = v;
        idx[i] = perm[i]!;
      }
      let nNodes = 0;
      let sp = 0;
      // stack entry: start, end, depth, parent, isRight
      stack[0] = 0;
      stack[1] = psi;
      stack[2] = 0;
      stack[3] = -1;
      stack[4] = 0;
      sp = 1;
      while (sp > 0) {
        sp--;
        const start = stack[sp * 5]!;
        const end = stack[sp * 5 + 1]!;
        const depth = stack[sp * 5 + 2]!;
        const parent = stack[sp * 5 + 3]!;
        const isRight = stack[sp * 5 + 4]!;
        const id = nNodes++;
        if (isRight) sRight[parent] = id;
        sFeature[id] = -1;
        sRight[id] = -1;
        sLeaf[id] = end - start;
        if (depth >= heightLimit || end - start <= 1) continue;
        // Draw features without replacement until one is not constant in this node.
        for (let f = 0; f < p; f++) featOrder[f] = f;
        let chosen = -1;
        let lo = 0;
        let hi = 0;
        for (let k = 0; k < p && chosen < 0; k++) {
          const r = k + tr.nextInt(p - k);
          const f = featOrder[r]!;
          featOrder[r] = featOrder[k]!;
          featOrder[k] = f;
          lo = Infinity;
          hi = -Infinity;
          for (let i = start; i < end; i++) {
            const v = data[idx[i]! * p + f]!;
            if (v < lo) lo = v;
            if (v > hi) hi = v;
          }
          if (hi > lo) chosen = f;
        }
        if (chosen < 0) continue;
        let thr = lo + tr.nextFloat() * (hi - lo);
        if (thr >= hi) thr = lo;
        let i = start;
        let j = end - 1;
        while (i <= j) {
          const row = idx[i]!;
          if (data[row * p + chosen]! <= thr) i++;
          else {
            idx[i] = idx[j]!;
            idx[j] = row;
            j--;
          }
        }
        sFeature[id] = chosen;
        sThreshold[id] = thr;
        sLeaf[id] = 0;
        let b = sp * 5;
        stack[b] = i;
        stack[b + 1] = end;
        stack[b + 2] = depth + 1;
        stack[b + 3] = id;
        stack[b + 4] = 1;
        b += 5;
        stack[b] = start;
        stack[b + 1] = i;
        stack[b + 2] = depth + 1;
        stack[b + 3] = id;
        stack[b + 4] = 0;
        sp += 2;
      }
      trees.push({
        feature: sFeature.slice(0, nNodes),
        threshold: sThreshold.slice(0, nNodes),
        right: sRight.slice(0, nNodes),
        leafSize: sLeaf.slice(0, nNodes),
      });
      onProgress?.((t + 1) / nTrees);
    }
    const forest = IsolationForest.assemble(p, psi, trees, 0, contamination, new Float64Array(0));
    const scores = forest.score(data, n);
    const threshold = quantile(scores, 1 - contamination);
    return new IsolationForest(p, psi, forest.treeOffsets, forest.feature, forest.threshold, forest.right, forest.leafSize, forest.pathLength, threshold, contamination, scores);
  }

  /** Builds the flat forest from per-tree preorder arrays (right indices local to the tree). */
  static assemble(
    nFeatures: number,
    sampleSize: number,
    trees: { feature: Int32Array; threshold: Float64Array; right: Int32Array; leafSize: Int32Array }[],
    threshold: number,
    contamination: number,
    trainScores: Float64Array,
  ): IsolationForest {
    const { offsets, feature, right } = flattenTrees(trees);
    const thr = concatNodes(trees.map((t) => t.threshold), (n) => new Float64Array(n));
    const leafSize = concatNodes(trees.map((t) => t.leafSize), (n) => new Int32Array(n));
    const pathLength = new Float64Array(feature.length);
    trees.forEach((t, ti) => {
      const off = offsets[ti]!;
      // Depths from the preorder structure: a node's children are one deeper.
      const depth = new Int32Array(t.feature.length);
      for (let i = 0; i < t.feature.length; i++) {
        if (t.feature[i]! >= 0) {
          depth[i + 1] = depth[i]! + 1;
          depth[t.right[i]!] = depth[i]! + 1;
        } else pathLength[off + i] = depth[i]! + averagePathLength(t.leafSize[i]!);
      }
    });
    return new IsolationForest(nFeatures, sampleSize, offsets, feature, thr, right, leafSize, pathLength, threshold, contamination, trainScores);
  }

  /** Rebuilds a forest from `toCompact` output. */
  static fromCompact(c: CompactIsolationForest, nFeatures: number, sampleSize: number, scoreThreshold: number, contamination: number): IsolationForest {
    let thrPos = 0;
    let leafPos = 0;
    const trees = decodePreorder(c, nFeatures, 'isolation tree').map(({ feature, right }, t) => {
      const threshold = new Float64Array(feature.length);
      const leafSize = new Int32Array(feature.length);
      for (let i = 0; i < feature.length; i++) {
        if (feature[i]! < 0) leafSize[i] = sectionAt(c.leafSize, leafPos++, t);
        else threshold[i] = sectionAt(c.splitThreshold, thrPos++, t);
      }
      return { feature, threshold, right, leafSize };
    });
    if (thrPos !== c.splitThreshold.length || leafPos !== c.leafSize.length) throw new RangeError('isolation forest sections have trailing nodes');
    return IsolationForest.assemble(nFeatures, sampleSize, trees, scoreThreshold, contamination, new Float64Array(0));
  }

  /** Compact encoding (`encodePreorder`): the float64 split of each internal node and the row count of each leaf. */
  toCompact(): CompactIsolationForest {
    const { treeNodeCounts, nodeFeature, splits, leaves } = encodePreorder(this.nFeatures, this.treeOffsets, this.feature);
    return {
      treeNodeCounts,
      nodeFeature,
      splitThreshold: Float64Array.from(splits, (i) => this.threshold[i]!),
      leafSize: Int32Array.from(leaves, (i) => this.leafSize[i]!),
    };
  }

  /** Anomaly score of one row, in (0, 1]; higher = more anomalous. No allocation. */
  scoreRow(row: ArrayLike<number>, offset = 0): number {
    const nTrees = this.treeOffsets.length - 1;
    const sum = sumLeafValues(this, this.pathLength, row, offset);
    const c = averagePathLength(this.sampleSize);
    return c === 0 ? 1 : 2 ** (-(sum / nTrees) / c);
  }

  score(x: Float64Array, nRows: number): Float64Array {
    const out = new Float64Array(nRows);
    for (let i = 0; i < nRows; i++) out[i] = this.scoreRow(x, i * this.nFeatures);
    return out;
  }

  /** 1 = normal, −1 = anomaly (score above the contamination threshold). */
  labelOf(score: number): 1 | -1 {
    return score > this.scoreThreshold ? -1 : 1;
  }
}

/** numpy's default (linear) quantile of `values` at q ∈ [0, 1]. */
function quantile(values: Float64Array, q: number): number {
  const s = Float64Array.from(values).sort();
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export interface CompactIsolationForest extends PreorderTrees {
  splitThreshold: Float64Array;
  leafSize: Int32Array;
}
