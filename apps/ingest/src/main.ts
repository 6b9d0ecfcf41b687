import { runMain } from '@pipeline/service-runtime';
import { readIngestConfig } from './config';
import { createIngest } from './ingestService';

void runMain(createIngest, () => readIngestConfig(process.env));
