import { Rng } from '../Rng';

/**
 * Test data shared by the model-format specs: `rowCount` rows of features a, b, c with a nonlinear
 * target y = sin(6a) + b² + 0.1c + noise, then `probeCount` gaussian probe values (×3), all drawn from
 * one Rng(seed) in that order, so a given (seed, rowCount, probeCount) always yields the same data.
 */
export function syntheticRegression(seed: number, rowCount: number, probeCount: number): { rows: Array<Record<string, number>>; probe: Float64Array } {
  const r = new Rng(seed);
  const rows = Array.from({ length: rowCount }, () => {
    const a = r.nextFloat();
    const b = r.nextGaussian();
    const c = r.nextFloat() * 10;
    return { a, b, c, y: Math.sin(6 * a) + b * b + 0.1 * c + 0.05 * r.nextGaussian() };
  });
  const probe = new Float64Array(Array.from({ length: probeCount }, () => r.nextGaussian() * 3));
  return { rows, probe };
}
