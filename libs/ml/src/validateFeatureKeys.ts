import { MlInputError } from './errors';

/** `featureKeys` must be a non-empty array of distinct non-empty strings. */
export function validateFeatureKeys(featureKeys: readonly string[]): void {
  if (!Array.isArray(featureKeys) || featureKeys.length === 0) {
    throw new MlInputError('featureKeys must be a non-empty array of strings', 'featureKeys');
  }
  const seen = new Set<string>();
  featureKeys.forEach((key, j) => {
    if (typeof key !== 'string' || key.length === 0) {
      throw new MlInputError(`featureKeys[${j}] must be a non-empty string`, `featureKeys[${j}]`, j);
    }
    if (seen.has(key)) throw new MlInputError(`featureKeys[${j}] duplicates "${key}"`, `featureKeys[${j}]`, j);
    seen.add(key);
  });
}
