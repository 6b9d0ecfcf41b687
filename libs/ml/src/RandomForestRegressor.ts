import { MlInputError } from './errors';
import type { FeatureMatrix } from './FeatureMatrix';
import { HistogramTreeBuilder } from './HistogramTreeBuilder';
import { QuantileBinner } from './QuantileBinner';
import { Rng } from './Rng';
import { concatNodes, decodePreorder, encodePreorder, flattenTrees, sumLeafValues, sectionAt, type PreorderTrees } from './preorderTrees';
import { checkInteger, checkNumber } from './checkParam';

export interface RandomForestOptions {
  /** Number of trees (default 100). */
  nEstimators?: number;
  /** Maximum tree depth, root = 0 (default 10). */
  maxDepth?: number;
  /** Minimum distinct rows in a leaf (default 1). */
  minSamplesLeaf?: number;
  /** Minimum distinct rows to split a node (default 2). */
  minSamplesSplit?: number;
  /** Fraction of features tried per split, in (0, 1] (default 1 = all, scikit-learn's regressor default). */
  maxFeatures?: number;
  /** Draw each tree's rows with replacement (default true). */
  bootstrap?: boolean;
  /** Histogram bins per feature, 2..256 (default 256). */
  maxBins?: number;
  /** Seed; same seed and data → identical forest (default 0). */
  seed?: number;
}

const DEFAULTS = { nEstimators: 100, maxDepth: 10, minSamplesLeaf: 1, minSamplesSplit: 2, maxFeatures: 1, bootstrap: true, maxBins: 256, seed: 0 };

/**
 * Random forest of squared-error regression trees (Breiman; scikit-learn `RandomForestRegressor`
 * semantics: bootstrap as sample weights, all features per split by default, prediction = mean of
 * trees, impurity-based importances normalized per tree, averaged, renormalized to sum 1).
 *
 * Trade-off: split thresholds are restricted to ≤ 256 quantile cut points per feature (histogram
 * training), which is what makes training fast; on 10k rows the accuracy cost is within noise of
 * exact splits (see bench/ml/RESULTS.md). Leaf values are rounded to float32 so the serialized
 * model is half the size and decodes to bit-identical predictions (relative error ≤ 6e-8).
 *
 * Storage is flat (structure of arrays over all trees, preorder): node `i` is a leaf when
 * `feature[i] < 0` (prediction `value[i]`), else rows with `x[feature[i]] <= threshold[i]` go to
 * `left[i]` (always `i + 1`) and the others to `right[i]`. A 100-tree depth-10 forest is ~200k nodes.
 */
export class RandomForestRegressor {
  /**
   * The same trees packed for prediction, 16 bytes per node in one buffer so a visit touches one
   * cache line: f64[2i] = threshold (leaf: value), i32[4i + 2] = feature (−1 = leaf), i32[4i + 3] = right.
   * Built on first use: only forests the implicit layout does not take need it (3 MB for 100 depth-10 trees).
   */
  private packed: { f64: Float64Array; i32: Int32Array } | undefined;
  /**
   * The fast single-row layout (undefined when the forest is deeper than 12 or has more than 256
   * features): every tree as a complete binary tree of depth `depth` in implicit order (children
   * of `i` are `2i + 1` and `2i + 2`, so no child pointers), one uint16 per internal node =
   * feature | split bin << 8, compared with the row's rank among the feature's bin edges;
   * leaves at shallower depths become chains of "bin 255" nodes that always go left.
   * 2 bytes per internal node instead of 16: 100 depth-10 trees take 200 KB, which stays in the
   * L2 cache, plus float32 leaves (exact: leaf values are float32-rounded). See `predictRow`.
   */
  private readonly implicit: ImplicitForest | undefined;
  /** Rebuilt from a serving-only state: the flat node arrays are empty (see `toState`). */
  private servingOnly = false;

  private constructor(
    readonly nFeatures: number,
    /** Tree `t` is nodes `[treeOffsets[t], treeOffsets[t + 1])`, root first. */
    readonly treeOffsets: Int32Array,
    readonly feature: Int32Array,
    readonly threshold: Float64Array,
    readonly left: Int32Array,
    readonly right: Int32Array,
    readonly value: Float64Array,
    /** Split bin index of internal nodes (what the model format stores instead of the threshold). */
    readonly splitBin: Uint8Array,
    readonly binner: QuantileBinner,
    /** Normalized impurity-based importance per feature (sums to 1, or all 0 if no split was made). */
    readonly featureImportances: Float64Array,
    /** Already built (by `fromState`): `null` = the implicit layout does not apply; omitted = build it now. */
    implicit?: ImplicitForest | null,
  ) {
    this.implicit = implicit === undefined ? buildImplicit(nFeatures, treeOffsets, feature, right, value, splitBin, binner) : (implicit ?? undefined);
  }

  /**
   * Every array the forest holds, derived layouts included, as plain typed arrays: what a worker
   * thread that decoded a model hands back (transferred, not copied) — see `toTransferable`.
   * `servingOnly`: just what prediction reads — the implicit layout (or, where it does not apply,
   * the packed nodes), the bin edges and the tree offsets; for 100 depth-10 trees 0.65 MB instead of
   * 6.1 MB. A forest rebuilt from it predicts identically but cannot be encoded again.
   */
  toState(opts: { servingOnly?: boolean } = {}): RandomForestState {
    if (!opts.servingOnly) this.requireFlat('toState');
    const { nFeatures, treeOffsets, featureImportances } = this;
    // Forests the implicit layout does not take predict from the packed nodes: build them here too.
    const packed = this.implicit === undefined ? (this.packed ??= this.pack()) : null;
    const flat = opts.servingOnly
      ? { feature: new Int32Array(0), threshold: new Float64Array(0), left: new Int32Array(0), right: new Int32Array(0), value: new Float64Array(0), splitBin: new Uint8Array(0) }
      : { feature: this.feature, threshold: this.threshold, left: this.left, right: this.right, value: this.value, splitBin: this.splitBin };
    return { nFeatures, treeOffsets, ...flat, binThresholds: this.binner.thresholds, binOffsets: this.binner.offsets, featureImportances, implicit: this.implicit ?? null, packed, servingOnly: opts.servingOnly === true };
  }

  /** The forest of `toState`, rebuilt without recomputing anything (O(1): the arrays are adopted). */
  static fromState(s: RandomForestState): RandomForestRegressor {
    const n = s.feature.length;
    if (s.servingOnly) {
      if (!s.implicit && !s.packed) throw new RangeError('a serving-only forest state needs its implicit layout or its packed nodes');
    } else if (s.treeOffsets[s.treeOffsets.length - 1] !== n || [s.threshold, s.left, s.right, s.value, s.splitBin].some((a) => a.length !== n)) {
      throw new RangeError(`forest state arrays disagree on the node count (${n})`);
    }
    const binner = QuantileBinner.fromState(s.binThresholds, s.binOffsets);
    const forest = new RandomForestRegressor(s.nFeatures, s.treeOffsets, s.feature, s.threshold, s.left, s.right, s.value, s.splitBin, binner, s.featureImportances, s.implicit);
    if (s.packed) forest.packed = s.packed;
    forest.servingOnly = s.servingOnly;
    return forest;
  }

  /** Throws for operations that need the flat node arrays a serving-only forest does not have. */
  private requireFlat(what: string): void {
    if (this.servingOnly) throw new Error(`${what}: this forest holds only its prediction layout (decoded for serving), not its nodes`);
  }

  get nTrees(): number {
    return this.treeOffsets.length - 1;
  }

  /**
   * The options with their defaults filled in, each checked (MlInputError naming `params.<option>`):
   * what `fit` trains with, and what trainModel checks a request's params with before reading rows.
   */
  static checkOptions(options: RandomForestOptions): Required<RandomForestOptions> {
    const o = { ...DEFAULTS, ...options };
    checkInteger(o.nEstimators, 'params.nEstimators', 1, 10_000);
    checkInteger(o.maxDepth, 'params.maxDepth', 1, 64);
    checkInteger(o.minSamplesLeaf, 'params.minSamplesLeaf', 1, Number.MAX_SAFE_INTEGER);
    checkInteger(o.minSamplesSplit, 'params.minSamplesSplit', 2, Number.MAX_SAFE_INTEGER);
    checkNumber(o.maxFeatures, 'params.maxFeatures', 0, 1, false);
    checkInteger(o.maxBins, 'params.maxBins', 2, 256);
    checkInteger(o.seed, 'params.seed', 0, 0xffffffff);
    if (typeof o.bootstrap !== 'boolean') throw new MlInputError(`params.bootstrap must be a boolean, got ${JSON.stringify(o.bootstrap)}`, 'params.bootstrap');
    return o;
  }

  static fit(x: FeatureMatrix, y: Float64Array, options: RandomForestOptions = {}, onProgress?: (fraction: number) => void): RandomForestRegressor {
    const o = RandomForestRegressor.checkOptions(options);
    const { nRows: n, nCols: p } = x;
    if (n < 1) throw new MlInputError('random forest needs at least one row', 'rows');
    if (y.length !== n) throw new MlInputError(`target has ${y.length} values for ${n} rows`, 'targetKey');

    const binner = QuantileBinner.fit(x, o.maxBins);
    const binned = binner.transform(x);
    const nBins = new Int32Array(p);
    for (let f = 0; f < p; f++) nBins[f] = binner.nBins(f);
    const builder = new HistogramTreeBuilder(binned, n, nBins, binner.thresholds, binner.offsets, y, {
      maxDepth: o.maxDepth,
      minSamplesLeaf: o.minSamplesLeaf,
      minSamplesSplit: o.minSamplesSplit,
      maxFeatures: Math.max(1, Math.round(o.maxFeatures * p)),
    });

    const rng = new Rng(o.seed);
    const weight = new Float64Array(n);
    const trees: { feature: Int32Array; bin: Uint8Array; threshold: Float64Array; right: Int32Array; value: Float64Array }[] = [];
    const importances = new Float64Array(p);
    for (let t = 0; t < o.nEstimators; t++) {
      const treeRng = new Rng(rng.nextUint32());
      if (o.bootstrap) {
        weight.fill(0);
        for (let i = 0; i < n; i++) weight[treeRng.nextInt(n)] += 1;
      } else weight.fill(1);
      const count = builder.build(weight, treeRng);
      const s = builder.out;
      trees.push({
        feature: s.feature.slice(0, count),
        bin: s.bin.slice(0, count),
        threshold: s.threshold.slice(0, count),
        right: s.right.slice(0, count),
        value: s.value.slice(0, count),
      });
      let total = 0;
      for (let f = 0; f < p; f++) total += builder.importance[f]!;
      if (total > 0) for (let f = 0; f < p; f++) importances[f] += builder.importance[f]! / total;
      onProgress?.((t + 1) / o.nEstimators);
    }
    let sum = 0;
    for (let f = 0; f < p; f++) sum += importances[f]!;
    if (sum > 0) for (let f = 0; f < p; f++) importances[f]! /= sum;
    return RandomForestRegressor.assemble(p, trees, binner, importances);
  }

  /** Concatenates per-tree preorder arrays (local right indices) into the flat forest. */
  static assemble(
    nFeatures: number,
    trees: { feature: Int32Array; bin: Uint8Array; threshold: Float64Array; right: Int32Array; value: Float64Array }[],
    binner: QuantileBinner,
    featureImportances: Float64Array,
  ): RandomForestRegressor {
    const { offsets, feature, right } = flattenTrees(trees);
    const threshold = concatNodes(trees.map((t) => t.threshold), (n) => new Float64Array(n));
    const value = concatNodes(trees.map((t) => t.value), (n) => new Float64Array(n));
    const splitBin = concatNodes(trees.map((t) => t.bin), (n) => new Uint8Array(n));
    const left = feature.map((f, i) => (f < 0 ? -1 : i + 1));
    return new RandomForestRegressor(nFeatures, offsets, feature, threshold, left, right, value, splitBin, binner, featureImportances);
  }

  /** Rebuilds a forest from the compact preorder encoding written by `toCompact`. */
  static fromCompact(c: CompactForest): RandomForestRegressor {
    const binner = QuantileBinner.fromState(c.binThresholds, c.binOffsets);
    const p = c.binOffsets.length - 1;
    let binPos = 0;
    let leafPos = 0;
    const trees = decodePreorder(c, p, 'tree').map(({ feature, right }, t) => {
      const bin = new Uint8Array(feature.length);
      const threshold = new Float64Array(feature.length);
      const value = new Float64Array(feature.length);
      for (let i = 0; i < feature.length; i++) {
        const f = feature[i]!;
        if (f < 0) {
          value[i] = sectionAt(c.leafValue, leafPos++, t);
          continue;
        }
        const b = sectionAt(c.nodeBin, binPos++, t);
        if (b >= binner.nBins(f) - 1) throw new RangeError(`tree ${t} node ${i} has bin ${b} beyond feature ${f}'s thresholds`);
        bin[i] = b;
        threshold[i] = c.binThresholds[c.binOffsets[f]! + b]!;
      }
      return { feature, bin, threshold, right, value };
    });
    if (binPos !== c.nodeBin.length || leafPos !== c.leafValue.length) throw new RangeError('forest sections have trailing nodes');
    return RandomForestRegressor.assemble(p, trees, binner, c.featureImportances);
  }

  /**
   * Compact encoding (`encodePreorder`): per node one byte (feature index, 0xFF = leaf; uint16 when
   * ≥ 255 features), per internal node its split bin (1 byte), per leaf its float32 value, plus the
   * bin edges. ≈ 2 + 4·(leaf share) bytes per node: ~0.6 MB for 100 full depth-10 trees.
   */
  toCompact(): CompactForest {
    this.requireFlat('toCompact');
    const { treeNodeCounts, nodeFeature, splits, leaves } = encodePreorder(this.nFeatures, this.treeOffsets, this.feature);
    return {
      treeNodeCounts,
      nodeFeature,
      nodeBin: Uint8Array.from(splits, (i) => this.splitBin[i]!),
      leafValue: Float32Array.from(leaves, (i) => this.value[i]!),
      binThresholds: this.binner.thresholds,
      binOffsets: this.binner.offsets,
      featureImportances: this.featureImportances,
    };
  }

  /** Mean of the trees' leaf values for one row of `nFeatures` numbers (read from `row[offset..]`). No allocation. */
  predictRow(row: ArrayLike<number>, offset = 0): number {
    const im = this.implicit;
    if (im === undefined) return this.predictRowPacked(row, offset);
    // Rank of each value among its feature's bin edges ("bin ≤ b" ⇔ "value ≤ threshold b"): a
    // guess from a bucket table over the edges' range, corrected to the exact rank by stepping
    // (0–1 steps for most values: 4 buckets per edge).
    const { ranks, guess, guessOffsets, guessLo, guessScale } = im;
    const thr = this.binner.thresholds;
    const offs = this.binner.offsets;
    for (let f = 0; f < this.nFeatures; f++) {
      const v = row[offset + f]!;
      const start = offs[f]!;
      const m = offs[f + 1]! - start;
      const nb = guessOffsets[f + 1]! - guessOffsets[f]!;
      const x = (v - guessLo[f]!) * guessScale[f]!;
      let r = guess[guessOffsets[f]! + (x > 0 ? (x < nb ? x | 0 : nb - 1) : 0)]!;
      while (r > 0 && thr[start + r - 1]! >= v) r--;
      while (r < m && thr[start + r]! < v) r++;
      ranks[f] = r;
    }
    const { depth, nodes, leaves } = im;
    const internal = (1 << depth) - 1;
    const nTrees = this.treeOffsets.length - 1;
    let sum = 0;
    let t = 0;
    // 8 trees walked together: independent chains of dependent loads overlap in the CPU. The
    // step `rank > bin` is computed as the sign bit of `bin − rank`, not a conditional: the
    // comparisons are unpredictable, and a mispredicted branch per level cost more than the loads.
    for (; t + 8 <= nTrees; t += 8) {
      const b0 = t * internal;
      let i0 = 0;
      let i1 = 0;
      let i2 = 0;
      let i3 = 0;
      let i4 = 0;
      let i5 = 0;
      let i6 = 0;
      let i7 = 0;
      for (let d = 0; d < depth; d++) {
        const n0 = nodes[b0 + 0 * internal + i0]!;
        const n1 = nodes[b0 + 1 * internal + i1]!;
        const n2 = nodes[b0 + 2 * internal + i2]!;
        const n3 = nodes[b0 + 3 * internal + i3]!;
        const n4 = nodes[b0 + 4 * internal + i4]!;
        const n5 = nodes[b0 + 5 * internal + i5]!;
        const n6 = nodes[b0 + 6 * internal + i6]!;
        const n7 = nodes[b0 + 7 * internal + i7]!;
        i0 = 2 * i0 + 1 + (((n0 >>> 8) - ranks[n0 & 0xff]!) >>> 31);
        i1 = 2 * i1 + 1 + (((n1 >>> 8) - ranks[n1 & 0xff]!) >>> 31);
        i2 = 2 * i2 + 1 + (((n2 >>> 8) - ranks[n2 & 0xff]!) >>> 31);
        i3 = 2 * i3 + 1 + (((n3 >>> 8) - ranks[n3 & 0xff]!) >>> 31);
        i4 = 2 * i4 + 1 + (((n4 >>> 8) - ranks[n4 & 0xff]!) >>> 31);
        i5 = 2 * i5 + 1 + (((n5 >>> 8) - ranks[n5 & 0xff]!) >>> 31);
        i6 = 2 * i6 + 1 + (((n6 >>> 8) - ranks[n6 & 0xff]!) >>> 31);
        i7 = 2 * i7 + 1 + (((n7 >>> 8) - ranks[n7 & 0xff]!) >>> 31);
      }
      const l0 = t * (internal + 1) - internal;
      // Summed in tree order, as the single-tree loop does: bit-identical results.
      sum += leaves[l0 + 0 * (internal + 1) + i0]!;
      sum += leaves[l0 + 1 * (internal + 1) + i1]!;
      sum += leaves[l0 + 2 * (internal + 1) + i2]!;
      sum += leaves[l0 + 3 * (internal + 1) + i3]!;
      sum += leaves[l0 + 4 * (internal + 1) + i4]!;
      sum += leaves[l0 + 5 * (internal + 1) + i5]!;
      sum += leaves[l0 + 6 * (internal + 1) + i6]!;
      sum += leaves[l0 + 7 * (internal + 1) + i7]!;
    }
    for (; t < nTrees; t++) {
      const base = t * internal;
      let i = 0;
      for (let d = 0; d < depth; d++) {
        const node = nodes[base + i]!;
        i = 2 * i + 1 + (((node >>> 8) - ranks[node & 0xff]!) >>> 31);
      }
      sum += leaves[t * (internal + 1) + i - internal]!;
    }
    return sum / nTrees;
  }

  private pack(): { f64: Float64Array; i32: Int32Array } {
    this.requireFlat('pack');
    const { feature, value, threshold, right } = this;
    const n = feature.length;
    const buf = new ArrayBuffer(n * 16);
    const f64 = new Float64Array(buf);
    const i32 = new Int32Array(buf);
    for (let i = 0; i < n; i++) {
      f64[2 * i] = feature[i]! < 0 ? value[i]! : threshold[i]!;
      i32[4 * i + 2] = feature[i]!;
      i32[4 * i + 3] = right[i]!;
    }
    return { f64, i32 };
  }

  /** Traversal of the 16-byte packed nodes (any depth, any feature count). */
  predictRowPacked(row: ArrayLike<number>, offset = 0): number {
    const { f64, i32 } = (this.packed ??= this.pack());
    const roots = this.treeOffsets;
    const nTrees = roots.length - 1;
    let sum = 0;
    for (let t = 0; t < nTrees; t++) {
      let node = roots[t]!;
      let f = i32[4 * node + 2]!;
      while (f >= 0) {
        // Load both successors before the comparison so the select can compile without a branch.
        const r = i32[4 * node + 3]!;
        const l = node + 1;
        node = row[offset + f]! <= f64[2 * node]! ? l : r;
        f = i32[4 * node + 2]!;
      }
      sum += f64[2 * node]!;
    }
    return sum / nTrees;
  }

  /** Reference traversal over the flat arrays (same result as `predictRow`; kept for tests and benchmarks). */
  predictRowFlat(row: ArrayLike<number>, offset = 0): number {
    this.requireFlat('predictRowFlat');
    return sumLeafValues(this, this.value, row, offset) / (this.treeOffsets.length - 1);
  }

  /** Predicts `nRows` rows of a row-major matrix. */
  predict(x: Float64Array, nRows: number): Float64Array {
    const out = new Float64Array(nRows);
    for (let i = 0; i < nRows; i++) out[i] = this.predictRow(x, i * this.nFeatures);
    return out;
  }
}

export interface CompactForest extends PreorderTrees {
  nodeBin: Uint8Array;
  leafValue: Float32Array;
  binThresholds: Float64Array;
  binOffsets: Int32Array;
  featureImportances: Float64Array;
}

/** Deepest forest the implicit layout takes: 2^12 leaves per tree (16 KB of float32). */
const MAX_IMPLICIT_DEPTH = 12;

/** What `RandomForestRegressor.toState` returns: the forest as typed arrays and numbers only. */
export interface RandomForestState {
  nFeatures: number;
  treeOffsets: Int32Array;
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  value: Float64Array;
  splitBin: Uint8Array;
  binThresholds: Float64Array;
  binOffsets: Int32Array;
  featureImportances: Float64Array;
  implicit: ImplicitForest | null;
  /** The packed nodes, present when `implicit` is null (they are what such a forest predicts from). */
  packed: { f64: Float64Array; i32: Int32Array } | null;
  /** True: the flat node arrays are left out (empty); only prediction works on the rebuilt forest. */
  servingOnly: boolean;
}

export interface ImplicitForest {
  depth: number;
  nodes: Uint16Array;
  leaves: Float32Array;
  /** Scratch: the row's rank per feature (one row at a time; JS is single-threaded). */
  ranks: Uint8Array;
  /** Per feature f, `guessOffsets[f+1] − guessOffsets[f]` equal-width buckets from `guessLo[f]`: rank of each bucket's lower edge. */
  guess: Uint8Array;
  guessOffsets: Int32Array;
  guessLo: Float64Array;
  guessScale: Float64Array;
}

/** Builds the implicit complete-tree layout of `RandomForestRegressor.implicit`, or undefined when it does not apply. */
function buildImplicit(
  nFeatures: number,
  treeOffsets: Int32Array,
  feature: Int32Array,
  right: Int32Array,
  value: Float64Array,
  splitBin: Uint8Array,
  binner: QuantileBinner,
): ImplicitForest | undefined {
  if (nFeatures > 256) return undefined;
  const nTrees = treeOffsets.length - 1;
  // Depth of the deepest leaf.
  let depth = 0;
  const stack: number[] = [];
  for (let t = 0; t < nTrees; t++) {
    stack.push(treeOffsets[t]!, 0);
    while (stack.length > 0) {
      const d = stack.pop()!;
      const node = stack.pop()!;
      if (feature[node]! < 0) {
        if (d > depth) depth = d;
        continue;
      }
      if (d + 1 > MAX_IMPLICIT_DEPTH) return undefined;
      stack.push(node + 1, d + 1, right[node]!, d + 1);
    }
  }
  for (let i = 0; i < value.length; i++) if (feature[i]! < 0 && Math.fround(value[i]!) !== value[i]) return undefined;
  const internal = (1 << depth) - 1;
  // Padding nodes send every row left: feature 0, bin 255 (a rank is at most 255, split bins at most 254).
  const nodes = new Uint16Array(nTrees * internal).fill(255 << 8);
  const leaves = new Float32Array(nTrees * (internal + 1));
  for (let t = 0; t < nTrees; t++) {
    const base = t * internal;
    stack.push(treeOffsets[t]!, 0);
    while (stack.length > 0) {
      const pos = stack.pop()!;
      const node = stack.pop()!;
      if (feature[node]! < 0) {
        // A leaf at depth d answers from the leftmost leaf slot below its position.
        let leafPos = pos;
        while (leafPos < internal) leafPos = 2 * leafPos + 1;
        leaves[t * (internal + 1) + leafPos - internal] = value[node]!;
        continue;
      }
      nodes[base + pos] = feature[node]! | (splitBin[node]! << 8);
      stack.push(node + 1, 2 * pos + 1, right[node]!, 2 * pos + 2);
    }
  }
  // Rank guesses: 4 equal-width buckets per bin edge over [first edge, last edge].
  const thr = binner.thresholds;
  const guessOffsets = new Int32Array(nFeatures + 1);
  for (let f = 0; f < nFeatures; f++) guessOffsets[f + 1] = guessOffsets[f]! + Math.max(1, 4 * (binner.nBins(f) - 1));
  const guess = new Uint8Array(guessOffsets[nFeatures]!);
  const guessLo = new Float64Array(nFeatures);
  const guessScale = new Float64Array(nFeatures);
  for (let f = 0; f < nFeatures; f++) {
    const start = binner.offsets[f]!;
    const m = binner.offsets[f + 1]! - start;
    const nb = guessOffsets[f + 1]! - guessOffsets[f]!;
    if (m === 0) continue;
    const lo = thr[start]!;
    const span = thr[start + m - 1]! - lo;
    guessLo[f] = lo;
    guessScale[f] = span > 0 ? nb / span : 0;
    let r = 0;
    for (let b = 0; b < nb; b++) {
      const edge = span > 0 ? lo + b / guessScale[f]! : lo;
      while (r < m && thr[start + r]! < edge) r++;
      guess[guessOffsets[f]! + b] = r;
    }
  }
  return { depth, nodes, leaves, ranks: new Uint8Array(Math.max(1, nFeatures)), guess, guessOffsets, guessLo, guessScale };
}
