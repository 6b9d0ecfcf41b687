// What the embedded mode and tests import from this app.
export { createPredictorService } from './predictorService';
export { readPredictorConfig } from './config';
export type { PredictorConfig } from './config';
export { RegistryCatalog, toServable } from './RegistryCatalog';
export { createInlineDecoder, createWorkerDecoder } from './ModelDecoder';
export type { ModelDecoder, DecodeThread } from './ModelDecoder';
