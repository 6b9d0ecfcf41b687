import { MlInputError } from './errors';
import { KMeans } from './KMeans';
import { matrixFromArrays } from './matrixFromArrays';

export interface ClusterResult {
  centers: number[][];
  inertia: number;
  labels: number[];
}

/**
 * The report's ad-hoc `clustering(X, n_clusters)`: k-means++ / Lloyd on the given rows as they
 * are (no scaling — standardize first if features have different units), nothing stored.
 */
export function clusterOnce(features: number[][], nClusters: number, seed = 0): ClusterResult {
  const x = matrixFromArrays(features);
  if (!Number.isInteger(nClusters) || nClusters < 1 || nClusters > x.nRows) {
    throw new MlInputError(`nClusters must be an integer in [1, ${x.nRows}] (the number of rows), got ${nClusters}`, 'nClusters');
  }
  const km = KMeans.fit(x, { nClusters, seed });
  const centers: number[][] = [];
  for (let c = 0; c < nClusters; c++) centers.push(Array.from(km.centers.subarray(c * x.nCols, (c + 1) * x.nCols)));
  return { centers, inertia: km.inertia, labels: Array.from(km.labels) };
}
