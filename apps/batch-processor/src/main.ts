import { runMain } from '@pipeline/service-runtime';
import { createBatchProcessor } from './batchProcessorService';
import { readBatchProcessorConfig } from './config';

void runMain(createBatchProcessor, () => readBatchProcessorConfig(process.env));
