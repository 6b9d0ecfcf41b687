import { join } from 'node:path';
import { runMain } from '@pipeline/service-runtime';
import { readGatewayConfig } from './config';
import { createGateway } from './gatewayService';

// The bundle puts adhoc.worker.js next to main.js (scripts/build.mjs).
void runMain(createGateway, () => readGatewayConfig(process.env, { defaultWorkerPath: join(__dirname, 'adhoc.worker.js') }));
