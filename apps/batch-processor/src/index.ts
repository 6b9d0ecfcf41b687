// What the embedded mode and tests import from this app.
export { batchProcessorFactory, createBatchProcessor } from './batchProcessorService';
export { readBatchProcessorConfig } from './config';
export type { BatchProcessorConfig } from './config';
