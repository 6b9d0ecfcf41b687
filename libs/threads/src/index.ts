// Helpers for worker threads. Kept free of dependencies on purpose: a worker bundle that imports
// this lib loads nothing else (importing @pipeline/service-runtime would pull express, pino,
// prom-client and kafkajs into every worker: +40 MB RSS and ~350 ms per start, measured).
export { lowerThreadPriority } from './threadPriority';
export type { ThreadPriorityResult } from './threadPriority';
