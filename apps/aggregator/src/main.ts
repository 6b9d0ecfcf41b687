import { runMain } from '@pipeline/service-runtime';
import { createAggregator } from './aggregatorService';
import { readAggregatorConfig } from './config';

void runMain(createAggregator, () => readAggregatorConfig(process.env));
