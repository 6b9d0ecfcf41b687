// ml-kmeans 7 ships ESM types under package "exports", which this repo's moduleResolution ("node")
// does not read; the part of its API the ML bench calls (node_modules/ml-kmeans/lib/kmeans.d.ts).
declare module 'ml-kmeans' {
  export interface KMeansResult {
    clusters: number[];
    centroids: number[][];
    converged: boolean;
    iterations: number;
  }
  export function kmeans(
    data: number[][],
    K: number,
    options: { seed?: number; maxIterations?: number; tolerance?: number; initialization?: 'kmeans++' | 'random' | 'mostDistant' | number[][] },
  ): KMeansResult;
}
