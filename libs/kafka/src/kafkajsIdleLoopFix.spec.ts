import { fixKafkaJsIdleLoop, nextPendingCheckMs } from './kafkajsIdleLoopFix';

type Queue = {
  pending: unknown[];
  inflight: Map<number, unknown>;
  throttledUntil: number;
  throttleCheckTimeoutId: unknown;
  push(r: { entry: { correlationId: number; apiName: string; apiVersion: number; apiKey: number; resolve: () => void; reject: () => void }; expectResponse: boolean; sendRequest: () => void }): void;
  fulfillRequest(r: { correlationId: number; payload: Buffer; size: number }): void;
  maybeThrottle(ms: number): void;
  destroy(): void;
};
type QueueClass = new (o: object) => Queue;

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const newQueue = (RequestQueue: QueueClass) =>
  new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'spec', broker: 'b:9092', logger: silent });
const request = (correlationId: number, sent: number[]) => ({
  entry: { correlationId, apiName: 'Fetch', apiVersion: 11, apiKey: 1, resolve: () => undefined, reject: () => undefined },
  expectResponse: true,
  sendRequest: () => sent.push(correlationId),
});

/** kafkajs's RequestQueue from a fresh module registry, so each test sees it patched or not as it chooses. */
function loadRequestQueue(patch: boolean): QueueClass {
  let RequestQueue!: QueueClass;
  jest.isolateModules(() => {
    if (patch) expect(require('./kafkajsIdleLoopFix').fixKafkaJsIdleLoop()).toBe(true);
    RequestQueue = require('kafkajs/src/network/requestQueue/index.js');
  });
  return RequestQueue;
}

describe('nextPendingCheckMs', () => {
  it('needs no check with nothing pending and no throttle, even though throttledUntil starts at -1', () => {
    expect(nextPendingCheckMs(0, -1, 1_700_000_000_000)).toBeUndefined();
    expect(nextPendingCheckMs(0, 999, 1_000)).toBeUndefined();
  });
  it('waits for the end of a throttle, pending or not', () => {
    expect(nextPendingCheckMs(3, 1_250, 1_000)).toBe(250);
    expect(nextPendingCheckMs(0, 1_250, 1_000)).toBe(250);
  });
  it('re-checks pending requests after 10 ms when not throttled (e.g. held back by the in-flight limit)', () => {
    expect(nextPendingCheckMs(2, -1, 1_000)).toBe(10);
    expect(nextPendingCheckMs(2, 1_000, 1_000)).toBe(10);
  });
});

describe('fixKafkaJsIdleLoop on kafkajs 2.2.4 RequestQueue', () => {
  it('unpatched, a fulfilled request leaves a timer armed on an idle queue (the 1 ms loop)', () => {
    const queue = newQueue(loadRequestQueue(false));
    const sent: number[] = [];
    queue.push(request(1, sent));
    queue.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    expect(queue.pending).toHaveLength(0);
    expect(queue.throttleCheckTimeoutId === null).toBe(false);
    queue.destroy();
  });

  it('patched, an idle queue arms no timer after a request is fulfilled', () => {
    const queue = newQueue(loadRequestQueue(true));
    const sent: number[] = [];
    queue.push(request(1, sent));
    expect(sent).toEqual([1]);
    queue.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    expect(queue.throttleCheckTimeoutId === null).toBe(true);
  });

  describe('on fake timers', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('patched, a request held back by the in-flight limit is sent when the one in flight is fulfilled, and the re-check timer does not re-arm', () => {
      const queue = newQueue(loadRequestQueue(true));
      const sent: number[] = [];
      queue.push(request(1, sent));
      queue.push(request(2, sent)); // maxInFlightRequests 1: queued, and the 10 ms re-check is armed
      expect(sent).toEqual([1]);
      expect(queue.pending).toHaveLength(1);
      expect(jest.getTimerCount()).toBe(1);
      queue.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
      expect(sent).toEqual([1, 2]);
      queue.fulfillRequest({ correlationId: 2, payload: Buffer.alloc(0), size: 0 });
      jest.advanceTimersByTime(10); // the re-check fires once, finds nothing pending ...
      expect(queue.throttleCheckTimeoutId === null).toBe(true);
      expect(jest.getTimerCount()).toBe(0); // ... and arms nothing
    });

    it('patched, a request queued behind a client-side throttle is sent when the throttle ends, with no response to trigger it', () => {
      const queue = newQueue(loadRequestQueue(true));
      const sent: number[] = [];
      queue.maybeThrottle(30);
      queue.push(request(1, sent));
      expect(sent).toEqual([]);
      expect(queue.throttleCheckTimeoutId === null).toBe(false);
      jest.advanceTimersByTime(29);
      expect(sent).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(sent).toEqual([1]);
      queue.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
      expect(queue.throttleCheckTimeoutId === null).toBe(true);
      expect(jest.getTimerCount()).toBe(0);
    });
  });

  it('is applied once per process and reports whether it applied', () => {
    expect(fixKafkaJsIdleLoop()).toBe(true);
    expect(fixKafkaJsIdleLoop()).toBe(true);
  });
});
