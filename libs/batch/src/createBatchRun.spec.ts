import type { BatchJobOptions, SerializedPartial } from './BatchJobOptions';
import { createBatchRun } from './createBatchRun';
import { detectAnomalies } from './detectAnomalies';
import { finishBatch } from './finishBatch';
import { joinStreams } from './joinStreams';
import { mergeBatchPartials } from './mergeBatchPartials';
import { parseBatchOptions } from './parseBatchOptions';
import { processBatch } from './processBatch';
import { timeWindowMetrics } from './timeWindowMetrics';

/** Deterministic pseudo-random numbers (LCG), so the law tests are reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Events with negatives, zeros, a large offset, missing values, several groups and types, and unordered times. */
function makeEvents(n: number, seed: number): Record<string, unknown>[] {
  const r = rng(seed);
  const t0 = Date.UTC(2024, 4, 1);
  return Array.from({ length: n }, (_, i) => {
    const u = r();
    const value = u < 0.1 ? null : u < 0.2 ? 0 : u < 0.3 ? -Math.floor(r() * 100) : 1e9 + r() * 10;
    const e: Record<string, unknown> = { id: `e${i}`, type: ['click', 'view', 'buy'][i % 3], timestamp: t0 + Math.floor(r() * 3 * 3_600_000), source: 'test', payload: { host: ['a', 'b', 'c', 'd'][Math.floor(r() * 4)] } };
    if (i % 2 === 0) e.value = value;
    else (e.payload as Record<string, unknown>).value = value;
    if (i % 5 === 0) e.timestamp = new Date(e.timestamp as number).toISOString();
    return e;
  });
}

/** Splits into chunks of the given sizes (0 = an empty chunk). */
function split<T>(items: T[], sizes: number[]): T[][] {
  const out: T[][] = [];
  let at = 0;
  for (const s of sizes) {
    out.push(items.slice(at, at + s));
    at += s;
  }
  out.push(items.slice(at));
  return out;
}

/** Deep equality where numbers may differ by floating-point rounding (relative 1e-12). */
function expectNearly(actual: unknown, expected: unknown, path = '$'): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    const tol = 1e-12 * Math.max(1, Math.abs(expected));
    if (Math.abs(actual - expected) > tol) throw new Error(`${path}: ${actual} != ${expected}`);
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    expect(actual !== null && typeof actual === 'object').toBe(true);
    expect(Object.keys(actual as object).sort()).toEqual(Object.keys(expected).sort());
    for (const k of Object.keys(expected)) expectNearly((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], `${path}.${k}`);
    return;
  }
  expect(actual).toEqual(expected);
}

/** Runs each chunk on its own "replica", ships the partial through JSON, merges in the given order. */
function runDistributed(options: BatchJobOptions, chunks: unknown[][], order: number[]): SerializedPartial {
  const partials = chunks.map((c) => {
    const run = createBatchRun(options);
    run.add(c.slice(0, Math.floor(c.length / 2)));
    run.add(c.slice(Math.floor(c.length / 2)));
    return JSON.parse(JSON.stringify(run.partial()));
  });
  const shipped = order.map((i) => partials[i]);
  const before = JSON.stringify(shipped);
  const merged = mergeBatchPartials(options, shipped);
  expect(JSON.stringify(shipped)).toBe(before); // merging leaves its inputs unchanged
  return JSON.parse(JSON.stringify(merged));
}

const events = makeEvents(500, 7);
const splits = [[], [500], [1, 0, 1], [250], [17, 100, 3, 200, 1, 79]];

describe('merge of partial results equals a single pass', () => {
  it.each(splits.map((s) => [s]))('process_batch, chunk sizes %p, merged in reverse and forward order', (sizes) => {
    const options = parseBatchOptions('process_batch', {});
    const chunks = split(events, sizes);
    const single = processBatch(events);
    const forward = chunks.map((_, i) => i);
    for (const order of [forward, [...forward].reverse()]) expectNearly(finishBatch(options, runDistributed(options, chunks, order)), single);
  });

  it.each(splits.map((s) => [s]))('time_window_metrics (hopping, grouped), chunk sizes %p, any merge order', (sizes) => {
    const options = parseBatchOptions('time_window_metrics', { window_minutes: 30, slide_minutes: 10, group_key: 'host' });
    const chunks = split(events, sizes);
    const single = timeWindowMetrics(events, { windowMinutes: 30, slideMinutes: 10, valueKey: 'value', groupKey: 'host' });
    expect(single.length).toBeGreaterThan(40);
    const forward = chunks.map((_, i) => i);
    for (const order of [forward, [...forward].reverse(), forward.map((_, i) => (i * 3) % forward.length)]) {
      if (new Set(order).size !== order.length) continue;
      expectNearly(finishBatch(options, runDistributed(options, chunks, order)), single);
    }
  });

  it.each(splits.map((s) => [s]))('detect_anomalies, chunk sizes %p: merged in partition order it is identical to a single pass', (sizes) => {
    const options = parseBatchOptions('detect_anomalies', { threshold_std: 1, group_key: 'host' });
    const chunks = split(events, sizes);
    const single = detectAnomalies(events, { thresholdStd: 1, groupKey: 'host' });
    expect(single.anomalies.length).toBeGreaterThan(10);
    expect(finishBatch(options, runDistributed(options, chunks, chunks.map((_, i) => i)))).toEqual(single);
  });

  it('join: each side arriving in chunks on several replicas gives the single-pass join', () => {
    const options = parseBatchOptions('join', { key: 'host', join_type: 'left', within_seconds: 600 });
    const left = events.slice(0, 60);
    const right = events.slice(60, 100);
    const partials = [0, 1, 2].map((i) => {
      const run = createBatchRun(options);
      run.add(left.slice(i * 20, i * 20 + 20), 'left');
      run.add(right.slice(i * 14, i * 14 + 14), 'right');
      return JSON.parse(JSON.stringify(run.partial()));
    });
    const single = joinStreams(left, right, { key: 'host', type: 'left', withinSeconds: 600 });
    expect(single.some((r) => r.right === null)).toBe(true);
    expect(finishBatch(options, mergeBatchPartials(options, partials))).toEqual(single);
  });

  it('an empty list of partials finishes as an empty input', () => {
    const options = parseBatchOptions('time_window_metrics', { window_minutes: 5 });
    expect(finishBatch(options, mergeBatchPartials(options, []))).toEqual([]);
    const anomalies = parseBatchOptions('detect_anomalies', { threshold_std: 3 });
    expect(finishBatch(anomalies, mergeBatchPartials(anomalies, []))).toEqual({ anomalies: [], stats: [] });
  });
});

describe('BatchRun errors', () => {
  it('reports bad events with their index across add() calls, and refuses a side for non-join runs', () => {
    const run = createBatchRun(parseBatchOptions('process_batch', {}));
    run.add([{ timestamp: 0, value: 1 }, { timestamp: 0, value: 2 }]);
    expect(() => run.add([{ timestamp: 0, value: 3 }, { timestamp: 0, value: 'abc' }])).toThrow('events[3].value must be a finite number, got "abc"');
    expect(() => run.add([], 'left')).toThrow('side is only accepted by join runs, got "left"');
    expect(finishBatch(parseBatchOptions('process_batch', {}), run.partial())).toMatchObject({ count: 2, sum: 3 });
    expect(() => createBatchRun(parseBatchOptions('join', { key: 'k' })).add([])).toThrow('side must be "left" or "right" for a join run, got undefined');
  });

  it('refuses partials of another operation or made with other options, naming the partial', () => {
    const windows = parseBatchOptions('time_window_metrics', { window_minutes: 5 });
    const other = createBatchRun(parseBatchOptions('time_window_metrics', { window_minutes: 10 })).partial();
    expect(() => mergeBatchPartials(windows, [createBatchRun(windows).partial(), other])).toThrow('partials[1] was made with other options (windowMs 600000, expected 300000)');
    expect(() => mergeBatchPartials(windows, [{ kind: 'batch_summary' }])).toThrow('partials[0].kind must be "window_metrics", got "batch_summary"');
    expect(() => finishBatch(windows, { ...createBatchRun(windows).partial(), rows: [{ start: 0, group: null, moments: [1, 2] }] })).toThrow(
      'partials[0].rows[0].moments must be [count, shift, mean − shift, m2, min, max, sum, compensation] of finite numbers, got [1,2]',
    );
  });
});
