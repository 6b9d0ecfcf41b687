import { MlInputError } from './errors';
import type { FeatureMatrix } from './FeatureMatrix';
import { HistogramTreeBuilder } from './HistogramTreeBuilder';
import { QuantileBinner } from './QuantileBinner';
import { Rng } from './Rng';
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
   */
  private readonly packedF64: Float64Array;
  private readonly packedI32: Int32Array;

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
  ) {
    const n = feature.length;
    const buf = new ArrayBuffer(n * 16);
    this.packedF64 = new Float64Array(buf);
    this.packedI32 = new Int32Array(buf);
    for (let i = 0; i < n; i++) {
      const leaf = feature[i]! < 0;
      this.packedF64[2 * i] = leaf ? value[i]! : threshold[i]!;
      this.packedI32[4 * i + 2] = feature[i]!;
      this.packedI32[4 * i + 3] = right[i]!;
    }
  }

  get nTrees(): number {
    return this.treeOffsets.length - 1;
  }

  static fit(x: FeatureMatrix, y: Float64Array, options: RandomForestOptions = {}, onProgress?: (fraction: number) => void): RandomForestRegressor {
    const o = { ...DEFAULTS, ...options };
    checkInteger(o.nEstimators, 'params.nEstimators', 1, 10_000);
    checkInteger(o.maxDepth, 'params.maxDepth', 1, 64);
    checkInteger(o.minSamplesLeaf, 'params.minSamplesLeaf', 1, Number.MAX_SAFE_INTEGER);
    checkInteger(o.minSamplesSplit, 'params.minSamplesSplit', 2, Number.MAX_SAFE_INTEGER);
    checkNumber(o.maxFeatures, 'params.maxFeatures', 0, 1, false);
    checkInteger(o.maxBins, 'params.maxBins', 2, 256);
    checkInteger(o.seed, 'params.seed', 0, 0xffffffff);
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
    const offsets = new Int32Array(trees.length + 1);
    trees.forEach((t, i) => (offsets[i + 1] = offsets[i]! + t.feature.length));
    const total = offsets[trees.length]!;
    const feature = new Int32Array(total);
    const threshold = new Float64Array(total);
    const left = new Int32Array(total);
    const right = new Int32Array(total);
    const value = new Float64Array(total);
    const splitBin = new Uint8Array(total);
    trees.forEach((t, ti) => {
      const off = offsets[ti]!;
      feature.set(t.feature, off);
      threshold.set(t.threshold, off);
      value.set(t.value, off);
      splitBin.set(t.bin, off);
      for (let i = 0; i < t.feature.length; i++) {
        const leaf = t.feature[i]! < 0;
        left[off + i] = leaf ? -1 : off + i + 1;
        right[off + i] = leaf ? -1 : off + t.right[i]!;
      }
    });
    return new RandomForestRegressor(nFeatures, offsets, feature, threshold, left, right, value, splitBin, binner, featureImportances);
  }

  /** Rebuilds a forest from the compact preorder encoding written by `toCompact`. */
  static fromCompact(c: CompactForest): RandomForestRegressor {
    const binner = QuantileBinner.fromState(c.binThresholds, c.binOffsets);
    const p = c.binOffsets.length - 1;
    const leafMark = p < 255 ? 0xff : 0xffff;
    const trees = [];
    let nodePos = 0;
    let binPos = 0;
    let leafPos = 0;
    for (let t = 0; t < c.treeNodeCounts.length; t++) {
      const count = c.treeNodeCounts[t]!;
      const feature = new Int32Array(count);
      const bin = new Uint8Array(count);
      const threshold = new Float64Array(count);
      const right = new Int32Array(count);
      const value = new Float64Array(count);
      const pending: number[] = [];
      for (let i = 0; i < count; i++) {
        if (i > 0) {
          if (feature[i - 1]! >= 0) pending.push(i - 1);
          else {
            const parent = pending.pop();
            if (parent === undefined) throw new RangeError(`tree ${t} is not a full binary tree`);
            right[parent] = i;
          }
        }
        if (nodePos >= c.nodeFeature.length) throw new RangeError(`tree ${t} runs past the node section`);
        const f = c.nodeFeature[nodePos++]!;
        if (f === leafMark) {
          feature[i] = -1;
          right[i] = -1;
          value[i] = at(c.leafValue, leafPos++, t);
        } else {
          if (f >= p) throw new RangeError(`tree ${t} node ${i} has feature ${f} of ${p}`);
          const b = at(c.nodeBin, binPos++, t);
          if (b >= binner.nBins(f) - 1) throw new RangeError(`tree ${t} node ${i} has bin ${b} beyond feature ${f}'s thresholds`);
          feature[i] = f;
          bin[i] = b;
          threshold[i] = c.binThresholds[c.binOffsets[f]! + b]!;
        }
      }
      if (pending.length !== 0) throw new RangeError(`tree ${t} is truncated`);
      trees.push({ feature, bin, threshold, right, value });
    }
    if (nodePos !== c.nodeFeature.length || binPos !== c.nodeBin.length || leafPos !== c.leafValue.length) {
      throw new RangeError('forest sections have trailing nodes');
    }
    return RandomForestRegressor.assemble(p, trees, binner, c.featureImportances);
  }

  /**
   * Compact encoding: per node one byte (feature index, 0xFF = leaf; uint16 when ≥ 255 features),
   * per internal node its split bin (1 byte), per leaf its float32 value, plus the bin edges.
   * ≈ 2 + 4·(leaf share) bytes per node: ~0.6 MB for 100 full depth-10 trees.
   */
  toCompact(): CompactForest {
    const n = this.feature.length;
    const p = this.nFeatures;
    const nodeFeature = p < 255 ? new Uint8Array(n) : new Uint16Array(n);
    const leafMark = p < 255 ? 0xff : 0xffff;
    let nLeaves = 0;
    for (let i = 0; i < n; i++) if (this.feature[i]! < 0) nLeaves++;
    const nodeBin = new Uint8Array(n - nLeaves);
    const leafValue = new Float32Array(nLeaves);
    let bi = 0;
    let li = 0;
    for (let i = 0; i < n; i++) {
      const f = this.feature[i]!;
      if (f < 0) {
        nodeFeature[i] = leafMark;
        leafValue[li++] = this.value[i]!;
      } else {
        nodeFeature[i] = f;
        nodeBin[bi++] = this.splitBin[i]!;
      }
    }
    const treeNodeCounts = new Int32Array(this.nTrees);
    for (let t = 0; t < this.nTrees; t++) treeNodeCounts[t] = this.treeOffsets[t + 1]! - this.treeOffsets[t]!;
    return {
      treeNodeCounts,
      nodeFeature,
      nodeBin,
      leafValue,
      binThresholds: this.binner.thresholds,
      binOffsets: this.binner.offsets,
      featureImportances: this.featureImportances,
    };
  }

  /** Mean of the trees' leaf values for one row of `nFeatures` numbers (read from `row[offset..]`). No allocation. */
  predictRow(row: ArrayLike<number>, offset = 0): number {
    const f64 = this.packedF64;
    const i32 = this.packedI32;
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
    const { feature, threshold, right, value, treeOffsets } = this;
    const nTrees = treeOffsets.length - 1;
    let sum = 0;
    for (let t = 0; t < nTrees; t++) {
      let node = treeOffsets[t]!;
      let f = feature[node]!;
      while (f >= 0) {
        node = row[offset + f]! <= threshold[node]! ? node + 1 : right[node]!;
        f = feature[node]!;
      }
      sum += value[node]!;
    }
    return sum / nTrees;
  }

  /** Predicts `nRows` rows of a row-major matrix. */
  predict(x: Float64Array, nRows: number): Float64Array {
    const out = new Float64Array(nRows);
    for (let i = 0; i < nRows; i++) out[i] = this.predictRow(x, i * this.nFeatures);
    return out;
  }
}

export interface CompactForest {
  treeNodeCounts: Int32Array;
  nodeFeature: Uint8Array | Uint16Array;
  nodeBin: Uint8Array;
  leafValue: Float32Array;
  binThresholds: Float64Array;
  binOffsets: Int32Array;
  featureImportances: Float64Array;
}

function at(a: ArrayLike<number>, i: number, tree: number): number {
  if (i >= a.length) throw new RangeError(`tree ${tree} runs past the end of a section`);
  return a[i]!;
}
