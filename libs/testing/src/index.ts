export { kafkaBrokers, uniqueName, createTestTopics, createTestBus, testKafkaClient, emptyEventTimeRange } from './broker';
export { freePort, waitFor, httpRequest } from './net';
export type { HttpResult } from './net';
export { spawnApp, metricValue, threadsOf } from './processes';
export type { AppProcess, ThreadInfo } from './processes';
export { tsWorkerSource } from './tsWorker';
export { seededRandom } from './seededRandom';
