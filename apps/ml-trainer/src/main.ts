import { join } from 'node:path';
import { runMain } from '@pipeline/service-runtime';
import { readTrainerConfig } from './config';
import { createTrainer } from './trainerService';

// The bundle puts train.worker.js next to main.js (scripts/build.mjs).
void runMain(createTrainer(), () => readTrainerConfig(process.env, { defaultWorkerPath: join(__dirname, 'train.worker.js') }));
