// ML benchmark: @pipeline/ml against scikit-learn on the same data, same machine, same run.
//   npm run bench:ml            # prints a markdown table of medians over 3 rounds
//   npm run bench:ml -- --write # also writes bench/ml/RESULTS.md
// Data is generated here with a seed and written to a temp dir; bench/ml/sklearn_baseline.py
// (run with /usr/bin/python3, Debian's python3-sklearn) reads exactly those bytes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
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
writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ nCols: P, rfSizes: RF_SIZES, k: K, contamination: CONTAMINATION }));

interface Round {
  rf: Record<number, { fitS: number; r2: number; skFitS: number; skR2: number }>;
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
  const [km, kmS] = time(() => KMeans.fit({ data: kx, nRows: N, nCols: P }, { nClusters: K, seed: round }));
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
lines.push('| what | @pipeline/ml | scikit-learn ' + rounds[0]!.sklearn + ' | ratio / difference |', '|---|---|---|---|');
for (const n of RF_SIZES) {
  const ours = med((r) => r.rf[n]!.fitS);
  const theirs = med((r) => r.rf[n]!.skFitS);
  lines.push(`| RF 100 trees, depth 10, ${n.toLocaleString('en')} rows (80/20): train time | ${f3(ours)} s | ${f3(theirs)} s (n_jobs=1) | ours/sklearn ${(ours / theirs).toFixed(2)}× |`);
  const r2 = med((r) => r.rf[n]!.r2);
  const skR2 = med((r) => r.rf[n]!.skR2);
  lines.push(`| RF ${n.toLocaleString('en')} rows: held-out R² | ${r2.toFixed(4)} | ${skR2.toFixed(4)} | ${(r2 - skR2 >= 0 ? '+' : '') + (r2 - skR2).toFixed(4)} |`);
}
lines.push(`| RF single-row predict, in-process: raw forest wall / raw forest CPU time / createPredictor (with input checks) wall | ${med((r) => r.predictRowUs).toFixed(2)} µs / ${med((r) => r.predictRowCpuUs).toFixed(2)} µs / ${med((r) => r.predictorRowUs).toFixed(2)} µs | ${med((r) => r.skPredictRowUs).toFixed(0)} µs (\`predict\` on 1 row) | — |`);
lines.push(`| RF model size (100 trees, depth 10, 8,000 training rows), encodeModel | ${med((r) => r.modelBytes).toLocaleString('en')} bytes | — | ml-random-forest JSON: 9.5 MB (FACTS.md) |`);
const kmO = med((r) => r.km.fitS);
const kmS = med((r) => r.km.skFitS);
const kmS1 = med((r) => r.km.skFit1ThreadS);
lines.push(`| k-means k=8, 10,000×10 (standardized Friedman X), one init: time | ${f3(kmO)} s | ${f3(kmS)} s (n_init=1, default threads) | ours/sklearn ${(kmO / kmS).toFixed(2)}× |`);
lines.push(`| k-means, same, scikit-learn limited to one thread (threadpoolctl) | ${f3(kmO)} s | ${f3(kmS1)} s (n_init=1, 1 thread) | ours/sklearn ${(kmO / kmS1).toFixed(2)}× |`);
const inO = med((r) => r.km.inertia);
const inS = med((r) => r.km.skInertia);
lines.push(`| k-means inertia (iterations) | ${inO.toFixed(0)} (${med((r) => r.km.iterations)}) | ${inS.toFixed(0)} (${med((r) => r.km.skIterations)}) | ${(((inO - inS) / inS) * 100).toFixed(2)} % |`);
const aO = med((r) => r.iso.auc);
const aS = med((r) => r.iso.skAuc);
lines.push(`| Isolation Forest 100 trees, ψ=256, 10,000×10 with 2% outliers: ROC-AUC | ${aO.toFixed(4)} | ${aS.toFixed(4)} | ${(aO - aS >= 0 ? '+' : '') + (aO - aS).toFixed(4)} |`);
lines.push(`| Isolation Forest fit + score training rows: time | ${f3(med((r) => r.iso.fitS))} s | ${f3(med((r) => r.iso.skFitS))} s (fit only, n_jobs=1) | — |`);
const table = lines.join('\n');
console.log(table);

if (process.argv.includes('--write')) {
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), shared with other engineers' jobs; Node ${process.version}`;
  const md = `# ML benchmark results

Command: \`npm run bench:ml -- --write\` (\`node scripts/run-ts.mjs bench/ml/ml.bench.ts\`)
Date: ${new Date().toISOString()}
Machine: ${machine}

Medians of ${ROUNDS} rounds; each round runs our code and then \`/usr/bin/python3 bench/ml/sklearn_baseline.py\`
on the same bytes (seeded data written by the bench), so both sides see the same machine load.
Our seeds change per round (\`seed: round\`); sklearn uses random_state=0 in every round.
ml-random-forest is not re-run (63.8 s for 2,000 rows, R² 0.758 — FACTS.md).

${table}
`;
  writeFileSync(join(process.cwd(), 'bench/ml/RESULTS.md'), md);
  console.error('wrote bench/ml/RESULTS.md');
}
