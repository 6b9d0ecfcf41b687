import { MlInputError } from './errors';
import type { FeatureMatrix } from './FeatureMatrix';
import { Rng } from './Rng';
import { checkInteger, checkNumber } from './checkParam';

export interface KMeansOptions {
  nClusters: number;
  /** Maximum Lloyd iterations (default 300). */
  maxIter?: number;
  /**
   * Relative tolerance (default 1e-4): stop when the total squared movement of the centres is
   * ≤ tol × mean per-feature variance of the data (scikit-learn's definition), or when no label changes.
   */
  tol?: number;
  /** Seed of the k-means++ initialization (default 0). */
  seed?: number;
}

/**
 * k-means (Lloyd's algorithm) with greedy k-means++ initialization (Arthur & Vassilvitskii 2007;
 * scikit-learn draws 2 + ⌊ln k⌋ candidates per centre and keeps the one that lowers the potential
 * most — so does this). One initialization (scikit-learn `n_init=1`); a different seed can land in
 * a different local optimum. Cost O(iterations · n · k · p), memory O(n + k·p).
 * Empty clusters are re-seeded with the point farthest from its centre.
 */
export class KMeans {
  private constructor(
    /** Row-major k × nFeatures. */
    readonly centers: Float64Array,
    readonly nClusters: number,
    readonly nFeatures: number,
    /** Sum of squared distances of training rows to their centre. */
    readonly inertia: number,
    readonly iterations: number,
    /** Training rows' cluster indices (empty after decoding a stored model). */
    readonly labels: Int32Array,
  ) {}

  static fromState(centers: Float64Array, nClusters: number, inertia: number, iterations: number): KMeans {
    if (nClusters < 1 || centers.length % nClusters !== 0) throw new RangeError('centers length is not a multiple of nClusters');
    return new KMeans(centers, nClusters, centers.length / nClusters, inertia, iterations, new Int32Array(0));
  }

  static fit(x: FeatureMatrix, options: KMeansOptions, onProgress?: (fraction: number) => void): KMeans {
    const { data, nRows: n, nCols: p } = x;
    const k = options.nClusters;
    const maxIter = options.maxIter ?? 300;
    const tol = options.tol ?? 1e-4;
    const seed = options.seed ?? 0;
    if (n < 1) throw new MlInputError('k-means needs at least one row', 'rows');
    checkInteger(k, 'params.nClusters', 1, n);
    checkInteger(maxIter, 'params.maxIter', 1, 100_000);
    checkNumber(tol, 'params.tol', 0, Number.MAX_VALUE, true);
    checkInteger(seed, 'params.seed', 0, 0xffffffff);
    const rng = new Rng(seed);
    const centers = kMeansPlusPlus(data, n, p, k, rng);

    let tolAbs = 0;
    for (let j = 0; j < p; j++) {
      let m = 0;
      for (let i = 0; i < n; i++) m += data[i * p + j]!;
      m /= n;
      let v = 0;
      for (let i = 0; i < n; i++) v += (data[i * p + j]! - m) ** 2;
      tolAbs += v / n;
    }
    tolAbs = (tolAbs / p) * tol;

    const labels = new Int32Array(n).fill(-1);
    const dist = new Float64Array(n);
    const sums = new Float64Array(k * p);
    const counts = new Int32Array(k);
    const bounds = new HamerlyBounds(n, k, p);
    const previous = new Float64Array(k * p);
    let iterations = 0;
    let strict = false;
    for (let it = 0; it < maxIter; it++) {
      iterations = it + 1;
      const changed = bounds.assign(data, centers, labels);
      sums.fill(0);
      counts.fill(0);
      for (let i = 0; i < n; i++) {
        const c = labels[i]!;
        counts[c]++;
        const cb = c * p;
        const xb = i * p;
        for (let j = 0; j < p; j++) sums[cb + j] += data[xb + j]!;
      }
      for (let c = 0; c < k; c++) {
        if (counts[c] !== 0) continue;
        // Empty cluster (rare): move it to the row farthest from its current centre. This needs
        // exact distances, and invalidates the bounds.
        assign(data, n, p, centers, k, labels, dist);
        bounds.invalidate();
        let far = 0;
        for (let i = 1; i < n; i++) if (dist[i]! > dist[far]!) far = i;
        const old = labels[far]!;
        counts[old]--;
        for (let j = 0; j < p; j++) sums[old * p + j]! -= data[far * p + j]!;
        labels[far] = c;
        dist[far] = 0;
        counts[c] = 1;
        for (let j = 0; j < p; j++) sums[c * p + j] = data[far * p + j]!;
      }
      previous.set(centers);
      let shift = 0;
      for (let c = 0; c < k; c++) {
        for (let j = 0; j < p; j++) {
          const v = sums[c * p + j]! / counts[c]!;
          shift += (v - centers[c * p + j]!) ** 2;
          centers[c * p + j] = v;
        }
      }
      bounds.centersMoved(previous, centers, labels);
      onProgress?.(iterations / maxIter);
      if (changed === 0) {
        strict = true;
        break;
      }
      if (shift <= tolAbs) break;
    }
    if (!strict) assign(data, n, p, centers, k, labels, dist);
    let inertia = 0;
    for (let i = 0; i < n; i++) {
      const cb = labels[i]! * p;
      let d = 0;
      for (let j = 0; j < p; j++) d += (data[i * p + j]! - centers[cb + j]!) ** 2;
      inertia += d;
    }
    onProgress?.(1);
    return new KMeans(centers, k, p, inertia, iterations, labels);
  }

  /** Index of the nearest centre (squared Euclidean; ties → lowest index). */
  predictRow(row: ArrayLike<number>, offset = 0): number {
    const { centers, nClusters: k, nFeatures: p } = this;
    let best = 0;
    let bestD = Infinity;
    for (let c = 0; c < k; c++) {
      let d = 0;
      for (let j = 0; j < p; j++) d += (row[offset + j]! - centers[c * p + j]!) ** 2;
      if (d < bestD) {
        bestD = d;
        best = c;
      }
    }
    return best;
  }

  predict(x: Float64Array, nRows: number): Float64Array {
    const out = new Float64Array(nRows);
    for (let i = 0; i < nRows; i++) out[i] = this.predictRow(x, i * this.nFeatures);
    return out;
  }
}

/** Assigns every row to its nearest centre; returns how many labels changed. Fills `dist` with d². */
function assign(data: Float64Array, n: number, p: number, centers: Float64Array, k: number, labels: Int32Array, dist: Float64Array): number {
  let changed = 0;
  for (let i = 0; i < n; i++) {
    const xb = i * p;
    let best = 0;
    let bestD = Infinity;
    for (let c = 0; c < k; c++) {
      const cb = c * p;
      let d = 0;
      for (let j = 0; j < p; j++) {
        const t = data[xb + j]! - centers[cb + j]!;
        d += t * t;
      }
      if (d < bestD) {
        bestD = d;
        best = c;
      }
    }
    if (labels[i] !== best) {
      labels[i] = best;
      changed++;
    }
    dist[i] = bestD;
  }
  return changed;
}

/**
 * Hamerly's bounds (G. Hamerly, "Making k-means even faster", 2010): per row an upper bound on
 * the distance to its centre and a lower bound on the distance to any other centre. A row whose
 * upper bound is below max(lower bound, half the distance from its centre to the nearest other
 * centre) cannot change cluster, so its k distances are skipped. The result is the same as
 * Lloyd's full assignment (rows that might tie are rescanned, with Lloyd's lowest-index tie-break);
 * after the first iterations most rows are skipped.
 */
class HamerlyBounds {
  private readonly upper: Float64Array;
  private readonly lower: Float64Array;
  private readonly half: Float64Array;
  private valid = false;

  constructor(
    private readonly n: number,
    private readonly k: number,
    private readonly p: number,
  ) {
    this.upper = new Float64Array(n);
    this.lower = new Float64Array(n);
    this.half = new Float64Array(k);
  }

  invalidate(): void {
    this.valid = false;
  }

  /** Assigns every row to its nearest centre; returns how many labels changed. */
  assign(data: Float64Array, centers: Float64Array, labels: Int32Array): number {
    const { n, k, p, upper, lower, half } = this;
    if (this.valid) {
      for (let c = 0; c < k; c++) {
        let m = Infinity;
        for (let o = 0; o < k; o++) if (o !== c) m = Math.min(m, sqDist(centers, c * p, centers, o * p, p));
        half[c] = 0.5 * Math.sqrt(m);
      }
    }
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const xb = i * p;
      if (this.valid) {
        const a = labels[i]!;
        // Margin keeps rounding in the bounds from ever skipping a row that could move.
        const m = Math.max(half[a]!, lower[i]!) * (1 - 1e-12);
        if (upper[i]! < m) continue;
        upper[i] = Math.sqrt(sqDist(data, xb, centers, a * p, p));
        if (upper[i]! < m) continue;
      }
      let best = 0;
      let bestD = Infinity;
      let second = Infinity;
      for (let c = 0; c < k; c++) {
        const d = sqDist(data, xb, centers, c * p, p);
        if (d < bestD) {
          second = bestD;
          bestD = d;
          best = c;
        } else if (d < second) second = d;
      }
      if (labels[i] !== best) {
        labels[i] = best;
        changed++;
      }
      upper[i] = Math.sqrt(bestD);
      lower[i] = Math.sqrt(second);
    }
    this.valid = true;
    return changed;
  }

  /** Loosens the bounds by how far each centre moved. */
  centersMoved(previous: Float64Array, centers: Float64Array, labels: Int32Array): void {
    if (!this.valid) return;
    const { n, k, p, upper, lower } = this;
    const move = new Float64Array(k);
    let maxMove = 0;
    for (let c = 0; c < k; c++) {
      move[c] = Math.sqrt(sqDist(previous, c * p, centers, c * p, p));
      if (move[c]! > maxMove) maxMove = move[c]!;
    }
    for (let i = 0; i < n; i++) {
      upper[i] += move[labels[i]!]!;
      lower[i] -= maxMove;
    }
  }
}

function sqDist(a: Float64Array, ab: number, b: Float64Array, bb: number, p: number): number {
  let d = 0;
  for (let j = 0; j < p; j++) {
    const t = a[ab + j]! - b[bb + j]!;
    d += t * t;
  }
  return d;
}

/** Greedy k-means++ seeding; returns row-major k × p centres. */
function kMeansPlusPlus(data: Float64Array, n: number, p: number, k: number, rng: Rng): Float64Array {
  const centers = new Float64Array(k * p);
  const nTrials = 2 + Math.floor(Math.log(k));
  const closest = new Float64Array(n);
  const cumsum = new Float64Array(n);
  const trial = new Float64Array(n * nTrials);
  const first = rng.nextInt(n);
  centers.set(data.subarray(first * p, first * p + p), 0);

  for (let i = 0; i < n; i++) {
    let d = 0;
    for (let j = 0; j < p; j++) d += (data[i * p + j]! - data[first * p + j]!) ** 2;
    closest[i] = d;

  }
  const candidates = new Int32Array(nTrials);
  for (let c = 1; c < k; c++) {
    let acc = 0;
    for (let i = 0; i < n; i++) cumsum[i] = acc += closest[i]!;
    for (let t = 0; t < nTrials; t++) {
      const r = rng.nextFloat() * acc;
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cumsum[mid]! <= r) lo = mid + 1;
        else hi = mid;
      }
      candidates[t] = lo;
    }
    let bestT = 0;
    let bestPot = Infinity;
    for (let t = 0; t < nTrials; t++) {
      const cb = candidates[t]! * p;
      let pot = 0;
      const off = t * n;
      for (let i = 0; i < n; i++) {
        let d = 0;
        for (let j = 0; j < p; j++) d += (data[i * p + j]! - data[cb + j]!) ** 2;
        const m = d < closest[i]! ? d : closest[i]!;
        trial[off + i] = m;
        pot += m;
      }
      if (pot < bestPot) {
        bestPot = pot;
        bestT = t;
      }
    }
    closest.set(trial.subarray(bestT * n, bestT * n + n));

    const src = candidates[bestT]! * p;
    centers.set(data.subarray(src, src + p), c * p);
  }
  return centers;
}
