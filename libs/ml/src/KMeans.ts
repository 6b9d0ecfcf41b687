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
    const centers = kMeansPlusPlus(data, n, p, k, new Rng(seed));
    const tolAbs = meanFeatureVariance(data, n, p) * tol;
    const lloyd = new HamerlyLloyd(data, n, p, k);
    let iterations = 0;
    let converged = false;
    while (iterations < maxIter) {
      iterations++;
      const changed = lloyd.assign(centers);
      if (lloyd.hasEmptyCluster()) lloyd.reseedEmptyClusters(centers);
      const shift = lloyd.moveCenters(centers);
      onProgress?.(iterations / maxIter);
      if (changed === 0) {
        converged = true;
        break;
      }
      if (shift <= tolAbs) break;
    }
    // Stopped on tol or maxIter: label the rows by the final centres (scikit-learn's last E-step).
    if (!converged) lloyd.assign(centers);
    const inertia = lloyd.inertia(centers);
    onProgress?.(1);
    return new KMeans(centers, k, p, inertia, iterations, lloyd.labels);
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


/**
 * Lloyd's iterations with Hamerly's bounds (G. Hamerly, "Making k-means even faster", 2010): per
 * row an upper bound on the distance to its centre and a lower bound on the distance to any other
 * centre. A row whose upper bound is below max(lower bound, half the distance from its centre to
 * the nearest other centre) cannot change cluster, so its k distances are skipped. The labels are
 * the same as a full Lloyd assignment (rows that might tie are rescanned, with Lloyd's lowest-index
 * tie-break); after the first iterations most rows are skipped. Per-cluster sums are updated only
 * for rows that change cluster, so an iteration costs O(rows rescanned · k · p + n), not O(n · p).
 *
 * The hot loops live in small methods called once per iteration, so V8 optimizes them as whole
 * functions early (a trainer runs each job in a fresh worker, i.e. cold) instead of waiting for
 * on-stack replacement inside one long function.
 */
class HamerlyLloyd {
  readonly labels: Int32Array;
  private readonly upper: Float64Array;
  private readonly lower: Float64Array;
  private readonly half: Float64Array;
  private readonly move: Float64Array;
  private readonly sums: Float64Array;
  private readonly counts: Int32Array;
  private readonly previous: Float64Array;
  private valid = false;

  constructor(
    private readonly data: Float64Array,
    private readonly n: number,
    private readonly p: number,
    private readonly k: number,
  ) {
    this.labels = new Int32Array(n).fill(-1);
    this.upper = new Float64Array(n);
    this.lower = new Float64Array(n);
    this.half = new Float64Array(k);
    this.move = new Float64Array(k);
    this.sums = new Float64Array(k * p);
    this.counts = new Int32Array(k);
    this.previous = new Float64Array(k * p);
  }

  /** Moves every row to its nearest centre, keeping sums and counts current; returns how many labels changed. */
  assign(centers: Float64Array): number {
    const { data, n, p, k, labels, upper, lower, half, sums, counts } = this;
    const valid = this.valid;
    if (valid) this.halfGaps(centers);
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const xb = i * p;
      const a = labels[i]!;
      if (valid) {
        // The margin keeps rounding in the bounds from ever skipping a row that could move.
        const m = Math.max(half[a]!, lower[i]!) * (1 - 1e-12);
        if (upper[i]! < m) continue;
        const u = Math.sqrt(sqDist(data, xb, centers, a * p, p));
        upper[i] = u;
        if (u < m) continue;
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
      upper[i] = Math.sqrt(bestD);
      lower[i] = Math.sqrt(second);
      if (a !== best) {
        labels[i] = best;
        changed++;
        if (a >= 0) {
          counts[a]--;
          addRow(sums, a * p, data, xb, p, -1);
        }
        counts[best]++;
        addRow(sums, best * p, data, xb, p, 1);
      }
    }
    this.valid = true;
    return changed;
  }

  hasEmptyCluster(): boolean {
    return this.counts.includes(0);
  }

  /**
   * An empty cluster (rare) takes the row farthest from its centre, as in scikit-learn. Needs exact
   * distances, so the bounds are rebuilt by the next assignment.
   */
  reseedEmptyClusters(centers: Float64Array): void {
    const { data, n, p, k, labels, counts } = this;
    const dist = new Float64Array(n);
    for (let i = 0; i < n; i++) dist[i] = sqDist(data, i * p, centers, labels[i]! * p, p);
    for (let c = 0; c < k; c++) {
      if (counts[c] !== 0) continue;
      let far = 0;
      for (let i = 1; i < n; i++) if (dist[i]! > dist[far]!) far = i;
      counts[labels[far]!]--;
      labels[far] = c;
      counts[c] = 1;
      dist[far] = 0;
    }
    this.sums.fill(0);
    for (let i = 0; i < n; i++) addRow(this.sums, labels[i]! * p, data, i * p, p, 1);
    this.valid = false;
  }

  /** Centres ← cluster means; loosens the bounds by how far each centre moved; returns the total squared shift. */
  moveCenters(centers: Float64Array): number {
    const { n, p, k, labels, upper, lower, sums, counts, previous, move } = this;
    previous.set(centers);
    let shift = 0;
    let maxMove = 0;
    for (let c = 0; c < k; c++) {
      const inv = 1 / counts[c]!;
      let moved = 0;
      for (let j = c * p; j < c * p + p; j++) {
        const v = sums[j]! * inv;
        const t = v - previous[j]!;
        moved += t * t;
        centers[j] = v;
      }
      shift += moved;
      move[c] = Math.sqrt(moved);
      if (move[c]! > maxMove) maxMove = move[c]!;
    }
    if (this.valid) {
      for (let i = 0; i < n; i++) {
        upper[i] += move[labels[i]!]!;
        lower[i] -= maxMove;
      }
    }
    return shift;
  }

  inertia(centers: Float64Array): number {
    const { data, n, p, labels } = this;
    let s = 0;
    for (let i = 0; i < n; i++) s += sqDist(data, i * p, centers, labels[i]! * p, p);
    return s;
  }

  /** half[c] = half the distance from centre c to its nearest other centre. */
  private halfGaps(centers: Float64Array): void {
    const { p, k, half } = this;
    for (let c = 0; c < k; c++) {
      let m = Infinity;
      for (let o = 0; o < k; o++) if (o !== c) m = Math.min(m, sqDist(centers, c * p, centers, o * p, p));
      half[c] = 0.5 * Math.sqrt(m);
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

/** dst[db..db+p) += sign · src[sb..sb+p). */
function addRow(dst: Float64Array, db: number, src: Float64Array, sb: number, p: number, sign: number): void {
  for (let j = 0; j < p; j++) dst[db + j] += sign * src[sb + j]!;
}

/** Mean over features of each feature's (population) variance: scikit-learn's scale for `tol`. */
function meanFeatureVariance(data: Float64Array, n: number, p: number): number {
  const mean = new Float64Array(p);
  for (let i = 0; i < n; i++) addRow(mean, 0, data, i * p, p, 1);
  for (let j = 0; j < p; j++) mean[j]! /= n;
  let total = 0;
  for (let i = 0; i < n; i++) total += sqDist(data, i * p, mean, 0, p);
  return total / n / p;
}

/** Greedy k-means++ seeding; returns row-major k × p centres. */
function kMeansPlusPlus(data: Float64Array, n: number, p: number, k: number, rng: Rng): Float64Array {
  const centers = new Float64Array(k * p);
  const nTrials = 2 + Math.floor(Math.log(k));
  const closest = new Float64Array(n).fill(Infinity);
  const cumsum = new Float64Array(n);
  const trials = Array.from({ length: nTrials }, () => new Float64Array(n));
  const candidates = new Int32Array(nTrials);
  const first = rng.nextInt(n);
  centers.set(data.subarray(first * p, first * p + p), 0);
  closerTo(data, n, p, first * p, closest, closest);
  for (let c = 1; c < k; c++) {
    let acc = 0;
    for (let i = 0; i < n; i++) cumsum[i] = acc += closest[i]!;
    for (let t = 0; t < nTrials; t++) candidates[t] = upperBound(cumsum, rng.nextFloat() * acc);
    let bestT = 0;
    let bestPot = Infinity;
    for (let t = 0; t < nTrials; t++) {
      const pot = closerTo(data, n, p, candidates[t]! * p, closest, trials[t]!);
      if (pot < bestPot) {
        bestPot = pot;
        bestT = t;
      }
    }
    closest.set(trials[bestT]!);
    const src = candidates[bestT]! * p;
    centers.set(data.subarray(src, src + p), c * p);
  }
  return centers;
}

/** out[i] = min(closest[i], ‖row i − row at cb‖²); returns Σ out. */
function closerTo(data: Float64Array, n: number, p: number, cb: number, closest: Float64Array, out: Float64Array): number {
  let pot = 0;
  for (let i = 0; i < n; i++) {
    const d = sqDist(data, i * p, data, cb, p);
    const m = d < closest[i]! ? d : closest[i]!;
    out[i] = m;
    pot += m;
  }
  return pot;
}

/** First index whose cumulative sum exceeds r (the last index if none does). */
function upperBound(cumsum: Float64Array, r: number): number {
  let lo = 0;
  let hi = cumsum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumsum[mid]! <= r) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
