// ML benchmark: @pipeline/ml against scikit-learn and against the npm packages it replaced
// (ml-random-forest, ml-kmeans) on the same data, same machine, same run.
//   npm run bench:ml            # prints a markdown table of medians over 3 rounds
//   npm run bench:ml -- --write # also writes bench/ml/RESULTS.md
// Data is generated here with a seed and written to a temp dir; bench/ml/sklearn_baseline.py
// (run with /usr/bin/python3, Debian's python3-sklearn) reads exactly those bytes.
// ml-random-forest (ml-cart tries every split point) needs 45–70 s for 100 trees on 1,000 rows on a
// busy 2-vCPU VM, so it is fitted once per invocation, in round 1, on a bounded training set.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { kmeans as mlKmeans } from 'ml-kmeans';
import { RandomForestRegression as MlRandomForestRegression } from 'ml-random-forest';
import {
  IsolationForest,
  KMeans,
  RandomForestRegressor,
  Rng,
  StandardScaler,
  createPredictor,
  encodeModel,
  r2Score,
  rocAucScore,
  trainModel,
} from '@pipeline/ml';

const ROUNDS = 3;
const P = 10;
const N = 10_000;
const RF_SIZES = [2_000, 10_000];
const K = 8;
const CONTAMINATION = 0.02;
/** Baseline against ml-random-forest: train on rows [0, NPM_RF_TRAIN), score on the 10,000-row split's held-out rows. */
const NPM_RF_TRAIN = 1_000;
const NPM_RF_TREES = 100;
const NPM_RF_DEPTH = 10;
const HELD_OUT_FROM = Math.floor(N * 0.8);

/** Friedman #1: y = 10 sin(π x0 x1) + 20 (x2 − 0.5)² + 10 x3 + 5 x4 + N(0, 1); x5..x9 are noise features. */
function friedman(n: number, seed: number): { x: Float64Array; y: Float64Array } {
  const r = new Rng(seed);
  const x = new Float64Array(n * P);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < P; j++) x[i * P + j] = r.nextFloat();
    const a = x.subarray(i * P);
    y[i] = 10 * Math.sin(Math.PI * a[0]! * a[1]!) + 20 * (a[2]! - 0.5) ** 2 + 10 * a[3]! + 5 * a[4]! + r.nextGaussian();
  }
  return { x, y };
}

/** 98% N(0, I) inliers, 2% outliers from N(0, 2²I), shuffled; truth 1 = outlier. */
function anomalies(n: number, seed: number): { x: Float64Array; truth: Float64Array } {
  const r = new Rng(seed);
  const x = new Float64Array(n * P);
  const truth = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const outlier = r.nextFloat() < CONTAMINATION;
    truth[i] = outlier ? 1 : 0;
    for (let j = 0; j < P; j++) x[i * P + j] = r.nextGaussian() * (outlier ? 2 : 1);
  }
  return { x, truth };
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const time = <T>(fn: () => T): [T, number] => {
  const t0 = performance.now();
  const r = fn();
  return [r, (performance.now() - t0) / 1000];
};

const { x, y } = friedman(N, 1);
const kx = StandardScaler.fit({ data: x, nRows: N, nCols: P }).transform({ data: x, nRows: N, nCols: P }).data;
const iso = anomalies(N, 2);
const dir = mkdtempSync(join(tmpdir(), 'ml-bench-'));
writeFileSync(join(dir, 'friedman_x.bin'), x);
writeFileSync(join(dir, 'friedman_y.bin'), y);
writeFileSync(join(dir, 'kmeans_x.bin'), kx);
writeFileSync(join(dir, 'iforest_x.bin'), iso.x);
writeFileSync(join(dir, 'iforest_truth.bin'), iso.truth);
writeFileSync(
  join(dir, 'manifest.json'),
  JSON.stringify({ nCols: P, rfSizes: RF_SIZES, k: K, contamination: CONTAMINATION, npmRf: { trainRows: NPM_RF_TRAIN, testFrom: HELD_OUT_FROM, testTo: N, trees: NPM_RF_TREES, maxDepth: NPM_RF_DEPTH } }),
);
// The npm packages take arrays of rows; converted once here, outside every timing.
const toRows = (data: Float64Array, from: number, to: number): number[][] => Array.from({ length: to - from }, (_, i) => Array.from(data.subarray((from + i) * P, (from + i + 1) * P)));
const npmTrainX = toRows(x, 0, NPM_RF_TRAIN);
const npmTrainY = Array.from(y.subarray(0, NPM_RF_TRAIN));
const heldOutRows = toRows(x, HELD_OUT_FROM, N);
const heldOutTyped = heldOutRows.map((r) => Float64Array.from(r));
const heldOutY = y.subarray(HELD_OUT_FROM, N);
const kxRows = toRows(kx, 0, N);
/** Sum of squared distances of each row to its nearest centre (ml-kmeans reports no inertia). */
function inertiaOf(centroids: number[][]): number {
  let s = 0;
  for (const r of kxRows) {
    let best = Infinity;
    for (const c of centroids) {
      let d = 0;
      for (let j = 0; j < P; j++) d += (r[j]! - c[j]!) ** 2;
      if (d < best) best = d;
    }
    s += best;
  }
  return s;
}
const timeCpu = <T>(fn: () => T): [T, number, number] => {
  const c0 = process.cpuUsage();
  const [r, s] = time(fn);
  const c = process.cpuUsage(c0);
  return [r, s, (c.user + c.system) / 1e6];
};

interface NpmRf {
  fitS: number;
  fitCpuS: number;
  r2: number;
  predictRowUs: number;
}
let npmRf: NpmRf | undefined;

interface Round {
  rf: Record<number, { fitS: number; r2: number; skFitS: number; skR2: number }>;
  /** Our forest on ml-random-forest's bounded configuration, and scikit-learn on the same. */
  rfSmall: { fitS: number; fitCpuS: number; r2: number; predictRowUs: number; skFitS: number; skR2: number; skPredictRowUs: number };
  mlKm: { fitS: number; inertia: number; iterations: number };
  km: { fitS: number; inertia: number; iterations: number; skFitS: number; skFit1ThreadS: number; skInertia: number; skIterations: number };
  iso: { fitS: number; auc: number; skFitS: number; skAuc: number };
  predictRowUs: number;
  predictorRowUs: number;
  predictRowCpuUs: number;
  skPredictRowUs: number;
  modelBytes: number;
  sklearn: string;
}

// Warm-up so the first timed round is not measuring the JIT.
RandomForestRegressor.fit({ data: x.subarray(0, 1000 * P), nRows: 1000, nCols: P }, y.subarray(0, 1000), { nEstimators: 10 });
KMeans.fit({ data: kx, nRows: N, nCols: P }, { nClusters: K, seed: 1 });

const rounds: Round[] = [];
const rows = Array.from({ length: N }, (_, i) => {
  const r: Record<string, number> = { target: y[i]! };
  for (let j = 0; j < P; j++) r[`x${j}`] = x[i * P + j]!;
  return r;
});
for (let round = 0; round < ROUNDS; round++) {
  const rf: Round['rf'] = {};
  let forest10k: RandomForestRegressor | undefined;
  for (const n of RF_SIZES) {
    const nTrain = Math.floor(n * 0.8);
    const [forest, fitS] = time(() => RandomForestRegressor.fit({ data: x.subarray(0, nTrain * P), nRows: nTrain, nCols: P }, y.subarray(0, nTrain), { seed: round }));
    const r2 = r2Score(y.subarray(nTrain, n), forest.predict(x.subarray(nTrain * P, n * P), n - nTrain));
    rf[n] = { fitS, r2, skFitS: NaN, skR2: NaN };
    if (n === N) forest10k = forest;
  }
  // Our forest on ml-random-forest's configuration: the same rows, trees and depth (all features per split, bootstrap).
  const [small, smallS, smallCpuS] = timeCpu(() =>
    RandomForestRegressor.fit({ data: x.subarray(0, NPM_RF_TRAIN * P), nRows: NPM_RF_TRAIN, nCols: P }, y.subarray(0, NPM_RF_TRAIN), { nEstimators: NPM_RF_TREES, maxDepth: NPM_RF_DEPTH, seed: round }),
  );
  const smallR2 = r2Score(heldOutY, small.predict(x.subarray(HELD_OUT_FROM * P), N - HELD_OUT_FROM));
  const smallRow: number[] = [];
  let smallSink = 0;
  for (let pass = 0; pass < 6; pass++) {
    const t0 = performance.now();
    for (let rep = 0; rep < 5; rep++) for (const r of heldOutTyped) smallSink += small.predictRow(r);
    if (pass > 0) smallRow.push(((performance.now() - t0) * 1000) / (5 * heldOutTyped.length)); // pass 0 warms the JIT
  }
  if (Number.isNaN(smallSink)) console.log('unreachable');
  if (round === 0) {
    // ml-random-forest 2.1.0: the same rows; 100 trees (ml-cart) of depth ≤ 10 on bootstrap samples with every
    // feature (maxFeatures 1.0, replacement false). noOOB: out-of-bag scoring is not part of our fit either.
    const [theirs, fitS, fitCpuS] = timeCpu(() => {
      const rf = new MlRandomForestRegression({ nEstimators: NPM_RF_TREES, maxFeatures: 1.0, replacement: false, useSampleBagging: true, noOOB: true, seed: 0, treeOptions: { maxDepth: NPM_RF_DEPTH } });
      rf.train(npmTrainX, npmTrainY);
      return rf;
    });
    const r2 = r2Score(heldOutY, Float64Array.from(theirs.predict(heldOutRows)));
    let sink = 0;
    for (let i = 0; i < 200; i++) sink += theirs.predict([heldOutRows[i]!])[0]!; // warm-up
    const t0 = performance.now();
    for (const r of heldOutRows) sink += theirs.predict([r])[0]!;
    const predictRowUs = ((performance.now() - t0) * 1000) / heldOutRows.length;
    if (Number.isNaN(sink)) console.log('unreachable');
    npmRf = { fitS, fitCpuS, r2, predictRowUs };
    console.error(`ml-random-forest: ${JSON.stringify(npmRf)}`);
  }
  const [km, kmS] = time(() => KMeans.fit({ data: kx, nRows: N, nCols: P }, { nClusters: K, seed: round }));
  // ml-kmeans 7.0.1: k-means++ init (its default), one init; max 300 iterations as ours and scikit-learn's.
  const [mk, mkS] = time(() => mlKmeans(kxRows, K, { seed: round, maxIterations: 300 }));
  const [iforest, isoS] = time(() => IsolationForest.fit({ data: iso.x, nRows: N, nCols: P }, { contamination: CONTAMINATION, seed: round }));
  const auc = rocAucScore(iso.truth, iforest.trainScores);

  // Single-row in-process prediction with the 10k-row forest: raw forest and the checked predictor.
  // Rows prepared beforehand (a caller's row), so the loop times the prediction, not a copy.
  const f = forest10k!;
  const probeRows = Array.from({ length: 2000 }, (_, i) => x.slice(i * P, i * P + P));
  let sink = 0;
  const model = trainModel({ modelName: 'bench', modelType: 'random_forest', featureKeys: Array.from({ length: P }, (_, j) => `x${j}`), targetKey: 'target', rows, version: 1, trainedAt: '2026-11-27T00:00:00Z', params: { seed: round } });
  const predictor = createPredictor(model);
  // Alternating passes (JIT state and machine noise hit both alike); the median pass of each counts.
  const reps = 20_000;
  const raw: number[] = [];
  const rawCpu: number[] = [];
  const checked: number[] = [];
  for (let i = 0; i < 5_000; i++) sink += f.predictRow(probeRows[i % 2000]!) + predictor.predictRow(probeRows[i % 2000]!); // warm-up (JIT)
  for (let pass = 0; pass < 5; pass++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 0; i < reps; i++) sink += f.predictRow(probeRows[i % 2000]!);
    raw.push(((performance.now() - t0) * 1000) / reps);
    const cpu = process.cpuUsage(c0);
    rawCpu.push((cpu.user + cpu.system) / reps);
    const t1 = performance.now();
    for (let i = 0; i < reps; i++) sink += predictor.predictRow(probeRows[i % 2000]!);
    checked.push(((performance.now() - t1) * 1000) / reps);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const predictRowUs = median(raw);
  const predictRowCpuUs = median(rawCpu);
  const predictorRowUs = median(checked);
  const modelBytes = encodeModel(model).length;
  if (Number.isNaN(sink)) console.log('unreachable');

  const py = spawnSync('/usr/bin/python3', [join(process.cwd(), 'bench/ml/sklearn_baseline.py'), dir], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (py.status !== 0) {
    console.error(py.stderr);
    throw new Error(`sklearn_baseline.py exited with ${py.status}`);
  }
  const sk = JSON.parse(py.stdout);
  for (const n of RF_SIZES) {
    rf[n]!.skFitS = sk.rf[String(n)].fitS;
    rf[n]!.skR2 = sk.rf[String(n)].r2;
  }
  rounds.push({
    rf,
    rfSmall: { fitS: smallS, fitCpuS: smallCpuS, r2: smallR2, predictRowUs: median(smallRow), skFitS: sk.rfNpm.fitS, skR2: sk.rfNpm.r2, skPredictRowUs: sk.rfNpm.predictRowUs },
    mlKm: { fitS: mkS, inertia: inertiaOf(mk.centroids), iterations: mk.iterations },
    km: { fitS: kmS, inertia: km.inertia, iterations: km.iterations, skFitS: sk.kmeans.fitS, skFit1ThreadS: sk.kmeans.fit1ThreadS, skInertia: sk.kmeans.inertia, skIterations: sk.kmeans.iterations },
    iso: { fitS: isoS, auc, skFitS: sk.iforest.fitS, skAuc: sk.iforest.auc },
    predictRowUs,
    predictorRowUs,
    predictRowCpuUs,
    skPredictRowUs: sk.predictRowUs,
    modelBytes,
    sklearn: sk.sklearn,
  });
  console.error(`round ${round + 1}/${ROUNDS}: ${JSON.stringify(rounds[round])}`);
}
rmSync(dir, { recursive: true, force: true });

const med = (fn: (r: Round) => number): number => median(rounds.map(fn));
const f3 = (v: number): string => v.toFixed(3);
const lines: string[] = [];
const sign = (v: number, digits: number): string => (v >= 0 ? '+' : '') + v.toFixed(digits);
const ratio = (a: number, b: number): string => `${(a / b).toFixed(a / b < 0.1 ? 4 : 2)}×`;
lines.push(
  `| what | @pipeline/ml | npm package | scikit-learn ${rounds[0]!.sklearn} | ours / npm | ours / sklearn |`,
  '|---|---|---|---|---|---|',
);
// ml-random-forest baseline: one fit (round 1); ours and sklearn are medians of the rounds on the same configuration.
const npm = npmRf!;
const sTrain = `${NPM_RF_TREES} trees, depth ${NPM_RF_DEPTH}, ${NPM_RF_TRAIN.toLocaleString('en')} training rows`;
const smallS = med((r) => r.rfSmall.fitS);
const smallCpu = med((r) => r.rfSmall.fitCpuS);
const smallSk = med((r) => r.rfSmall.skFitS);
lines.push(
  `| RF ${sTrain}: train time wall (CPU) | ${f3(smallS)} s (${f3(smallCpu)} s) | ml-random-forest ${npm.fitS.toFixed(1)} s (${npm.fitCpuS.toFixed(1)} s), 1 fit | ${f3(smallSk)} s (n_jobs=1) | ${ratio(smallS, npm.fitS)} (CPU ${ratio(smallCpu, npm.fitCpuS)}) | ${ratio(smallS, smallSk)} |`,
);
const smallR2 = med((r) => r.rfSmall.r2);
const smallSkR2 = med((r) => r.rfSmall.skR2);
lines.push(
  `| RF ${NPM_RF_TRAIN.toLocaleString('en')} training rows: R² on the ${(N - HELD_OUT_FROM).toLocaleString('en')} held-out rows of the ${N.toLocaleString('en')}-row split | ${smallR2.toFixed(4)} | ${npm.r2.toFixed(4)} | ${smallSkR2.toFixed(4)} | ${sign(smallR2 - npm.r2, 4)} | ${sign(smallR2 - smallSkR2, 4)} |`,
);
const smallRow = med((r) => r.rfSmall.predictRowUs);
const smallSkRow = med((r) => r.rfSmall.skPredictRowUs);
lines.push(
  `| RF ${NPM_RF_TRAIN.toLocaleString('en')} training rows: predict one row per call, those held-out rows | ${smallRow.toFixed(2)} µs | ${npm.predictRowUs.toFixed(1)} µs | ${smallSkRow.toFixed(0)} µs (\`predict\` on 1 row) | ${ratio(smallRow, npm.predictRowUs)} | ${ratio(smallRow, smallSkRow)} |`,
);
for (const n of RF_SIZES) {
  const ours = med((r) => r.rf[n]!.fitS);
  const theirs = med((r) => r.rf[n]!.skFitS);
  lines.push(`| RF 100 trees, depth 10, ${n.toLocaleString('en')} rows (80/20): train time | ${f3(ours)} s | — | ${f3(theirs)} s (n_jobs=1) | — | ${ratio(ours, theirs)} |`);
  const r2 = med((r) => r.rf[n]!.r2);
  const skR2 = med((r) => r.rf[n]!.skR2);
  lines.push(`| RF ${n.toLocaleString('en')} rows: held-out R² | ${r2.toFixed(4)} | — | ${skR2.toFixed(4)} | — | ${sign(r2 - skR2, 4)} |`);
}
lines.push(
  `| RF ${N.toLocaleString('en')} rows: single-row predict, in-process: raw forest wall / raw forest CPU time / createPredictor (with input checks) wall | ${med((r) => r.predictRowUs).toFixed(2)} µs / ${med((r) => r.predictRowCpuUs).toFixed(2)} µs / ${med((r) => r.predictorRowUs).toFixed(2)} µs | — | ${med((r) => r.skPredictRowUs).toFixed(0)} µs (\`predict\` on 1 row) | — | — |`,
);
lines.push(`| RF model size (100 trees, depth 10, 8,000 training rows), encodeModel | ${med((r) => r.modelBytes).toLocaleString('en')} bytes | ml-random-forest JSON 9.5 MB (FACTS.md, not measured here) | — | — | — |`);
const kmO = med((r) => r.km.fitS);
const kmS = med((r) => r.km.skFitS);
const kmS1 = med((r) => r.km.skFit1ThreadS);
const mkS = med((r) => r.mlKm.fitS);
lines.push(
  `| k-means k=8, 10,000×10 (standardized Friedman X), one k-means++ init: time | ${f3(kmO)} s | ml-kmeans ${f3(mkS)} s | ${f3(kmS)} s (n_init=1, default threads) | ${ratio(kmO, mkS)} | ${ratio(kmO, kmS)} |`,
);
lines.push(`| k-means, same, scikit-learn limited to one thread (threadpoolctl) | ${f3(kmO)} s | — | ${f3(kmS1)} s (n_init=1, 1 thread) | — | ${ratio(kmO, kmS1)} |`);
const inO = med((r) => r.km.inertia);
const inS = med((r) => r.km.skInertia);
const inM = med((r) => r.mlKm.inertia);
lines.push(
  `| k-means inertia (iterations) | ${inO.toFixed(0)} (${med((r) => r.km.iterations)}) | ${inM.toFixed(0)} (${med((r) => r.mlKm.iterations)}) | ${inS.toFixed(0)} (${med((r) => r.km.skIterations)}) | ${sign(((inO - inM) / inM) * 100, 2)} % | ${sign(((inO - inS) / inS) * 100, 2)} % |`,
);
const aO = med((r) => r.iso.auc);
const aS = med((r) => r.iso.skAuc);
lines.push(`| Isolation Forest 100 trees, ψ=256, 10,000×10 with 2% outliers: ROC-AUC | ${aO.toFixed(4)} | — | ${aS.toFixed(4)} | — | ${sign(aO - aS, 4)} |`);
lines.push(`| Isolation Forest fit + score training rows: time | ${f3(med((r) => r.iso.fitS))} s | — | ${f3(med((r) => r.iso.skFitS))} s (fit only, n_jobs=1) | — | ${ratio(med((r) => r.iso.fitS), med((r) => r.iso.skFitS))} |`);
const table = lines.join('\n');
console.log(table);

if (process.argv.includes('--write')) {
  const load = loadavg().map((v) => v.toFixed(1)).join(' / ');
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), shared with other engineers' jobs; Node ${process.version}; load average at the end (1 / 5 / 15 min) ${load}`;
  const md = `# ML benchmark results

Command: \`npm run bench:ml -- --write\` (\`node scripts/run-ts.mjs bench/ml/ml.bench.ts\`)
Date: ${new Date().toISOString()}
Machine: ${machine}

Medians of ${ROUNDS} rounds; each round runs our code and then \`/usr/bin/python3 bench/ml/sklearn_baseline.py\`
on the same bytes (seeded data written by the bench), so both sides see the same machine load.
Our seeds change per round (\`seed: round\`); sklearn uses random_state=0 in every round.
The npm packages our code replaced run in the same process on the same data: ml-kmeans 7.0.1 every round;
ml-random-forest 2.1.0 once (round 1), on ${NPM_RF_TRAIN.toLocaleString('en')} training rows with ${NPM_RF_TREES} trees of depth ${NPM_RF_DEPTH}, because
it is too slow for more (its trees try every split point); our forest and scikit-learn's are also fitted on
exactly that configuration every round. On a busy host compare ratios within this run, not absolute times.

${table}
`;
  writeFileSync(join(process.cwd(), 'bench/ml/RESULTS.md'), md);
  console.error('wrote bench/ml/RESULTS.md');
}
