export { kafkaBrokers, uniqueName, createTestTopics } from './broker';
export { freePort, waitFor, httpRequest } from './net';
export type { HttpResult } from './net';
export { spawnApp, metricValue } from './processes';
export type { AppProcess } from './processes';
