import { join } from 'node:path';
import { runMain } from '@pipeline/service-runtime';
import { readPredictorConfig } from './config';
import { createPredictorService } from './predictorService';

// The bundle puts decode.worker.js next to main.js (scripts/build.mjs).
void runMain(createPredictorService({ decodeWorkerPath: join(__dirname, 'decode.worker.js') }), () => readPredictorConfig(process.env));
