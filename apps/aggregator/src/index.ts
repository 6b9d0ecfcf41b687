export { createAggregator } from './aggregatorService';
export { readAggregatorConfig } from './config';
export type { AggregatorConfig } from './config';
