import type { Rng } from './Rng';

export interface TreeBuilderOptions {
  maxDepth: number;
  minSamplesLeaf: number;
  minSamplesSplit: number;
  /** Features tried per split (1..nCols); nCols = all, like scikit-learn's regressor default. */
  maxFeatures: number;
}

/** One tree in preorder: the left child of internal node `i` is `i + 1`; leaves have feature -1. */
export interface TreeScratch {
  feature: Int32Array;
  bin: Uint8Array;
  threshold: Float64Array;
  right: Int32Array;
  value: Float64Array;
}

/**
 * Grows variance-reduction (squared-error) regression trees on pre-binned features with
 * histogram split finding, as LightGBM / scikit-learn's HistGradientBoosting do:
 *  - a node's histogram holds, per (feature, bin): Σw, Σw·y and the number of distinct rows;
 *  - the best split of a feature is one left-to-right scan of its ≤ 256 bins;
 *  - only the smaller child's histogram is built from rows; the larger one is parent − smaller
 *    (the subtraction trick), unless it is so small that rebuilding is cheaper.
 * Sample weights carry bootstrap counts (a row drawn 3 times has weight 3), as scikit-learn does;
 * `minSamplesLeaf` counts distinct rows, as scikit-learn does.
 *
 * All buffers are allocated once per builder and reused across trees: histograms are pooled per
 * depth (two per level: left and right child), so growing a node allocates nothing.
 * Memory ≈ 2 · (maxDepth + 1) · Σ nBins · 24 bytes of histograms + 28 bytes per row of scratch.
 */
export class HistogramTreeBuilder {
  private readonly p: number;
  private readonly featOff: Int32Array;
  private readonly nBins: Int32Array;
  private readonly histLen: number;
  private readonly pool: Float64Array[] = [];
  private readonly idx: Int32Array;
  private readonly w: Float64Array;
  private readonly wy: Float64Array;
  private readonly featPerm: Int32Array;
  private readonly stack: Int32Array; // start, end, depth, parent, isRight, count (6 per entry)
  private readonly stackSums: Float64Array; // W, S, SS (3 per entry)
  readonly out: TreeScratch;
  readonly importance: Float64Array;

  constructor(
    private readonly binned: Uint8Array,
    private readonly nRows: number,
    nBins: Int32Array,
    private readonly thresholds: Float64Array,
    private readonly thresholdOffsets: Int32Array,
    private readonly y: Float64Array,
    private readonly opts: TreeBuilderOptions,
  ) {
    this.p = nBins.length;
    this.nBins = nBins;
    this.featOff = new Int32Array(this.p + 1);
    for (let f = 0; f < this.p; f++) this.featOff[f + 1] = this.featOff[f]! + nBins[f]!;
    this.histLen = this.featOff[this.p]! * 3;
    this.idx = new Int32Array(nRows);
    this.w = new Float64Array(nRows);
    this.wy = new Float64Array(nRows);
    this.featPerm = new Int32Array(this.p);
    const stackCap = Math.min(opts.maxDepth, nRows) + 4;
    this.stack = new Int32Array(stackCap * 6);
    this.stackSums = new Float64Array(stackCap * 3);
    const cap = Math.max(1, Math.min(2 ** Math.min(opts.maxDepth + 1, 31) - 1, 2 * nRows - 1));
    this.out = {
      feature: new Int32Array(cap),
      bin: new Uint8Array(cap),
      threshold: new Float64Array(cap),
      right: new Int32Array(cap),
      value: new Float64Array(cap),
    };
    this.importance = new Float64Array(this.p);
  }

  private slot(depth: number, side: number): Float64Array {
    const k = depth * 2 + side;
    while (this.pool.length <= k) this.pool.push(new Float64Array(this.histLen));
    return this.pool[k]!;
  }

  private buildHist(h: Float64Array, start: number, end: number): void {
    h.fill(0);
    const { idx, w, wy, binned, featOff } = this;
    const p = this.p;
    for (let i = start; i < end; i++) {
      const row = idx[i]!;
      const wv = w[row]!;
      const wyv = wy[row]!;
      const base = row * p;
      for (let f = 0; f < p; f++) {
        const k = (featOff[f]! + binned[base + f]!) * 3;
        h[k] += wv;
        h[k + 1] += wyv;
        h[k + 2] += 1;
      }
    }
  }

  /**
   * Grows one tree. `sampleWeight[i]` is row i's weight (0 = not in this tree's sample).
   * Returns the node count; the tree is in `this.out[0..count)`, importances (unnormalized
   * weighted impurity decrease per feature) in `this.importance`.
   */
  build(sampleWeight: Float64Array, rng: Rng): number {
    const { idx, w, wy, y, binned, stack, stackSums, out, opts, featOff, nBins, featPerm } = this;
    const p = this.p;
    const msl = opts.minSamplesLeaf;
    const minSplit = Math.max(opts.minSamplesSplit, 2 * msl);
    this.importance.fill(0);
    let m = 0;
    let rootW = 0;
    let rootS = 0;
    let rootSS = 0;
    for (let i = 0; i < this.nRows; i++) {
      const wv = sampleWeight[i]!;
      w[i] = wv;
      if (wv > 0) {
        const yv = y[i]!;
        wy[i] = wv * yv;
        idx[m++] = i;
        rootW += wv;
        rootS += wv * yv;
        rootSS += wv * yv * yv;
      } else wy[i] = 0;
    }
    if (m === 0) {
      out.feature[0] = -1;
      out.value[0] = 0;
      return 1;
    }
    if (opts.maxDepth > 0 && m >= minSplit) this.buildHist(this.slot(0, 0), 0, m);
    let sp = 0;
    const push = (start: number, end: number, depth: number, parent: number, isRight: number, count: number, W: number, S: number, SS: number): void => {
      const b = sp * 6;
      stack[b] = start;
      stack[b + 1] = end;
      stack[b + 2] = depth;
      stack[b + 3] = parent;
      stack[b + 4] = isRight;
      stack[b + 5] = count;
      stackSums[sp * 3] = W;
      stackSums[sp * 3 + 1] = S;
      stackSums[sp * 3 + 2] = SS;
      sp++;
    };
    push(0, m, 0, -1, 0, m, rootW, rootS, rootSS);
    let nNodes = 0;
    const allFeatures = opts.maxFeatures >= p;
    for (let f = 0; f < p; f++) featPerm[f] = f;

    while (sp > 0) {
      sp--;
      const b6 = sp * 6;
      const start = stack[b6]!;
      const end = stack[b6 + 1]!;
      const depth = stack[b6 + 2]!;
      const parent = stack[b6 + 3]!;
      const isRight = stack[b6 + 4]!;
      const count = stack[b6 + 5]!;
      const W = stackSums[sp * 3]!;
      const S = stackSums[sp * 3 + 1]!;
      const SS = stackSums[sp * 3 + 2]!;
      const id = nNodes++;
      if (isRight) out.right[parent] = id;
      out.value[id] = Math.fround(S / W);
      out.feature[id] = -1;
      out.right[id] = -1;
      const parentScore = (S * S) / W;
      // Leaf: depth limit, too few rows, or pure (weighted SSE ≈ 0 relative to Σw·y²).
      if (depth >= opts.maxDepth || count < minSplit || SS - parentScore <= 1e-12 * SS) continue;

      const h = this.slot(depth, isRight);
      let nTry = p;
      if (!allFeatures) {
        nTry = opts.maxFeatures;
        for (let i = 0; i < nTry; i++) {
          const j = i + rng.nextInt(p - i);
          const t = featPerm[i]!;
          featPerm[i] = featPerm[j]!;
          featPerm[j] = t;
        }
      }
      let bestGain = -Infinity;
      let bestF = -1;
      let bestB = -1;
      let bestWl = 0;
      let bestSl = 0;
      let bestCl = 0;
      for (let fi = 0; fi < nTry; fi++) {
        const f = allFeatures ? fi : featPerm[fi]!;
        const nb = nBins[f]!;
        let k = featOff[f]! * 3;
        let wl = 0;
        let sl = 0;
        let cl = 0;
        for (let bin = 0; bin < nb - 1; bin++, k += 3) {
          const c = h[k + 2]!;
          if (c === 0) continue;
          wl += h[k]!;
          sl += h[k + 1]!;
          cl += c;
          if (cl < msl) continue;
          if (count - cl < msl) break;
          const sr = S - sl;
          const gain = (sl * sl) / wl + (sr * sr) / (W - wl);
          if (gain > bestGain) {
            bestGain = gain;
            bestF = f;
            bestB = bin;
            bestWl = wl;
            bestSl = sl;
            bestCl = cl;
          }
        }
      }
      const decrease = bestGain - parentScore;
      if (bestF < 0 || !(decrease > 1e-12 * Math.abs(parentScore))) continue;

      // Partition rows in place: bin <= bestB to the left.
      let i = start;
      let j = end - 1;
      let ssL = 0;
      while (i <= j) {
        const row = idx[i]!;
        if (binned[row * p + bestF]! <= bestB) {
          ssL += wy[row]! * y[row]!;
          i++;
        } else {
          idx[i] = idx[j]!;
          idx[j] = row;
          j--;
        }
      }
      const mid = i;
      out.feature[id] = bestF;
      out.bin[id] = bestB;
      out.threshold[id] = this.thresholds[this.thresholdOffsets[bestF]! + bestB]!;
      this.importance[bestF] += decrease;

      const cd = depth + 1;
      const countL = bestCl;
      const countR = count - countL;
      const needL = cd < opts.maxDepth && countL >= minSplit;
      const needR = cd < opts.maxDepth && countR >= minSplit;
      if (needL || needR) {
        const hL = this.slot(cd, 0);
        const hR = this.slot(cd, 1);
        if (needL && needR) {
          const leftSmaller = countL <= countR;
          const hSmall = leftSmaller ? hL : hR;
          const hLarge = leftSmaller ? hR : hL;
          if (leftSmaller) this.buildHist(hL, start, mid);
          else this.buildHist(hR, mid, end);
          const largeCount = leftSmaller ? countR : countL;
          // Rebuilding costs ~3·p per row; subtracting costs the histogram length.
          if (largeCount * p * 3 < this.histLen) {
            if (leftSmaller) this.buildHist(hR, mid, end);
            else this.buildHist(hL, start, mid);
          } else {
            for (let k = 0, len = this.histLen; k < len; k++) hLarge[k] = h[k]! - hSmall[k]!;
          }
        } else if (needL) this.buildHist(hL, start, mid);
        else this.buildHist(hR, mid, end);
      }
      push(mid, end, cd, id, 1, countR, W - bestWl, S - bestSl, SS - ssL);
      push(start, mid, cd, id, 0, countL, bestWl, bestSl, ssL);
    }
    return nNodes;
  }
}
