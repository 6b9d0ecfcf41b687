// What the embedded mode and tests import from this app.
export { createIngest } from './ingestService';
export { readIngestConfig } from './config';
export type { IngestConfig } from './config';
