// What the embedded mode and tests import from this app.
export { createTrainer } from './trainerService';
export { readTrainerConfig } from './config';
export type { TrainerConfig } from './config';
export { createInlineRunner } from './createInlineRunner';
export type { TrainingRunner } from './TrainingRunner';
