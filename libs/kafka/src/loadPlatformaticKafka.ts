import type * as PlatformaticKafka from '@platformatic/kafka';

export type PlatformaticKafkaModule = typeof PlatformaticKafka;

let loaded: PlatformaticKafkaModule | undefined;

/**
 * @platformatic/kafka is an ES module; this workspace compiles to CommonJS. Node 24 loads an ES
 * module through `require` (it has no top-level await), so the adapter requires it — lazily, on
 * the first PlatformaticBus, so that loading `@pipeline/kafka` (every service and every Jest suite
 * does) never loads it. Jest's own module loader cannot run ES modules without
 * --experimental-vm-modules: a suite that builds a PlatformaticBus mocks '@platformatic/kafka' with
 * Node's copy (libs/kafka/src/__tests__/busAdapters.ts).
 */
export function loadPlatformaticKafka(): PlatformaticKafkaModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose (see above)
  loaded ??= require('@platformatic/kafka') as PlatformaticKafkaModule;
  return loaded;
}
