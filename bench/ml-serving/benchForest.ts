// The forest both serving benches use: 100 trees of depth 10 on 10,000 rows of 10 features
// (y = Σ (j+1)·f_j + 5·sin f_0 + noise), seeded, trained in this process.
import { Rng, trainModel, type TrainedModel } from '@pipeline/ml';

export const BENCH_FOREST_FEATURES = 10;

export function trainBenchForest(name: string, dataSeed: number): TrainedModel {
  const rng = new Rng(dataSeed);
  const rows = Array.from({ length: 10_000 }, () => {
    const r: Record<string, number> = {};
    let y = 0;
    for (let j = 0; j < BENCH_FOREST_FEATURES; j++) {
      r[`f${j}`] = rng.nextFloat() * 10;
      y += (j + 1) * r[`f${j}`]!;
    }
    r['y'] = y + Math.sin(r['f0']!) * 5 + rng.nextGaussian();
    return r;
  });
  const featureKeys = Array.from({ length: BENCH_FOREST_FEATURES }, (_, j) => `f${j}`);
  return trainModel({ modelName: name, modelType: 'random_forest', featureKeys, targetKey: 'y', rows, version: 1, trainedAt: new Date().toISOString(), params: { nEstimators: 100, maxDepth: 10, seed: 1 } });
}
