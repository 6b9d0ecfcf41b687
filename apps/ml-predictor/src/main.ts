import { runMain } from '@pipeline/service-runtime';
import { readPredictorConfig } from './config';
import { createPredictorService } from './predictorService';

void runMain(createPredictorService(), () => readPredictorConfig(process.env));
