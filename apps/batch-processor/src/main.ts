import { join } from 'node:path';
import { runMain } from '@pipeline/service-runtime';
import { createBatchProcessor } from './batchProcessorService';
import { readBatchProcessorConfig } from './config';

// The bundle puts compute.worker.js next to main.js (scripts/build.mjs).
void runMain(createBatchProcessor, () => readBatchProcessorConfig(process.env, { defaultWorkerPath: join(__dirname, 'compute.worker.js') }));
