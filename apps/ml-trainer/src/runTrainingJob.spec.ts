import { INTERNAL_TOPICS, type MlJobCommand, type MlJobStatus } from '@pipeline/contracts';
import { InMemoryBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { createPredictor, decodeModel } from '@pipeline/ml';
import { ModelRegistryView } from '@pipeline/model-registry';
import { createInlineRunner } from './createInlineRunner';
import { JobCancelledError } from './errors';
import { runTrainingJob } from './runTrainingJob';
import type { TrainingRunner } from './TrainingRunner';

/** y = 2·a − b + 1 on a small grid: linear regression recovers it exactly. */
const rows = Array.from({ length: 40 }, (_, i) => ({ a: i % 8, b: Math.floor(i / 8), y: 2 * (i % 8) - Math.floor(i / 8) + 1 }));
const T0 = Date.parse('2026-11-27T10:00:00.000Z');

async function setup() {
  const bus = new InMemoryBus({ defaultPartitions: 3 });
  await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
  const registry = new ModelRegistryView(bus, { topic: INTERNAL_TOPICS.mlModels, groupPrefix: 't' });
  await registry.start();
  let tick = 0;
  const deps = { bus, registry, runner: createInlineRunner(), progressIntervalMs: 0, timeoutMs: 60_000, signal: new AbortController().signal, now: () => new Date(T0 + 1000 * tick++) };
  const statuses = (jobId: string) =>
    bus
      .messages(INTERNAL_TOPICS.mlJobs)
      .filter((m) => m.key === jobId)
      .map((m) => JSON.parse(m.value.toString()) as MlJobStatus);
  return { bus, registry, deps, statuses };
}

const command = (jobId: string, request: Record<string, unknown>): MlJobCommand => ({ job_id: jobId, request: request as never, submitted_at: '2026-11-27T09:59:59.000Z' });
const linear = { model_name: 'x', model_type: 'linear_regression', feature_keys: ['a', 'b'], target_key: 'y', data: rows };

/**
 * A runner whose training never finishes by itself, like a worker on a huge forest: `started`
 * resolves when training begins, and a stop rejects with the signal's reason, as the worker runner
 * does when it terminates the worker; `stopped` holds those reasons.
 */
function endlessRunner() {
  let begin!: () => void;
  const started = new Promise<void>((r) => (begin = r));
  const stopped: unknown[] = [];
  const runner: TrainingRunner = {
    train: (_request, _onProgress, signal) =>
      new Promise((_resolve, reject) => {
        begin();
        signal.addEventListener('abort', () => (stopped.push(signal.reason), reject(signal.reason)), { once: true });
      }),
  };
  return { runner, started, stopped };
}

describe('runTrainingJob', () => {
  it('goes running → training → publishing → succeeded and publishes version 1 to the registry', async () => {
    const { deps, statuses, registry } = await setup();
    const out = await runTrainingJob(command('j1', { model_name: 'lin', model_type: 'linear_regression', feature_keys: ['a', 'b'], target_key: 'y', data: rows, params: { testFraction: 0 } }), deps);
    const seen = statuses('j1');
    expect(seen.map((s) => [s.status, s.phase, s.progress])).toEqual([
      ['running', 'reading', 0],
      ['running', 'training', 0.3],
      ['running', 'training', 0.95], // progress of the (single-step) linear fit
      ['running', 'publishing', 0.95],
      ['succeeded', undefined, 1],
    ]);
    expect(out.status).toEqual({
      job_id: 'j1',
      status: 'succeeded',
      progress: 1,
      model_name: 'lin',
      model_type: 'linear_regression',
      model_version: 1,
      metrics: out.summary!.metrics,
      rows: 40,
      submitted_at: '2026-11-27T09:59:59.000Z',
      started_at: '2026-11-27T10:00:00.000Z',
      finished_at: expect.stringMatching(/^2026-11-27T10:00:\d\d\.000Z$/),
      duration_seconds: expect.any(Number),
      updated_at: expect.any(String),
    });
    expect(seen[4]).toEqual(out.status);
    expect(out.summary!.metrics.trainR2).toBeCloseTo(1, 12);
    await registry.catchUp();
    const model = decodeModel(registry.get('lin')!.bytes);
    expect([model.version, createPredictor(model).predictRow([3, 2])]).toEqual([1, expect.closeTo(5, 9)]);
    expect(registry.get('lin')!.manifest.metadata).toEqual(out.summary);
  });

  it('assigns max(existing)+1 as the version of the next training of the same model', async () => {
    const { deps } = await setup();
    const req = { model_name: 'lin', model_type: 'linear_regression', feature_keys: ['a', 'b'], target_key: 'y', data: rows };
    await runTrainingJob(command('j1', req), deps);
    const second = await runTrainingJob(command('j2', req), deps);
    expect(second.status.model_version).toBe(2);
  });

  it('reads rows from an event topic in the source window', async () => {
    const { bus, deps } = await setup();
    await bus.publishBatch(
      rows.map((r, i) => ({ topic: 'events.devices', key: 'd', value: JSON.stringify({ topic: 'events.devices', payload: { device_id: 'd', reading: 'r', value: r.y, attributes: { a: r.a, b: r.b } } }), timestampMs: T0 - 1000 - i })),
    );
    await bus.publish({ topic: 'events.devices', key: 'd', value: 'garbage', timestampMs: T0 - 5 });
    await bus.publish({ topic: 'events.devices', key: 'd', value: '{"payload":{}}', timestampMs: T0 + 60_000 }); // after `to`
    const out = await runTrainingJob(
      command('j3', { model_name: 'dev', model_type: 'linear_regression', feature_keys: ['attributes.a', 'attributes.b'], target_key: 'value', source: { topic: 'events.devices', to: T0 } }),
      deps,
    );
    expect([out.status.status, out.status.rows, out.summary!.provenance.source]).toEqual([
      'succeeded',
      40,
      { topic: 'events.devices', from: '2026-11-26T10:00:00.000Z', to: '2026-11-27T10:00:00.000Z', limit: 1_000_000, skipped: 1, job_id: 'j3' },
    ]);
  });

  it('stops reading at source.limit', async () => {
    const { bus, deps } = await setup();
    await bus.publishBatch(rows.map((r) => ({ topic: 'events.devices', value: JSON.stringify({ payload: r }), timestampMs: T0 - 10 })));
    const out = await runTrainingJob(command('j4', { model_name: 'dev', model_type: 'linear_regression', feature_keys: ['a', 'b'], target_key: 'y', source: { topic: 'events.devices', to: T0, limit: 12 } }), deps);
    expect([out.status.status, out.status.rows]).toEqual(['succeeded', 12]);
  });

  it('skips records whose feature or target is not a finite number and reports how many and why in the job status (the job failed on rows[0].value)', async () => {
    const { bus, deps } = await setup();
    const device = (payload: Record<string, unknown>) => JSON.stringify({ topic: 'events.devices', payload: { device_id: 'd', reading: 'r', ...payload } });
    await bus.publish({ topic: 'events.devices', key: 'd', value: device({ value: 'abc', attributes: { a: 1, b: 2 } }), timestampMs: T0 - 2_000 });
    await bus.publishBatch(rows.map((r, i) => ({ topic: 'events.devices', key: 'd', value: device({ value: r.y, attributes: { a: r.a, b: r.b } }), timestampMs: T0 - 1000 - i })));
    await bus.publish({ topic: 'events.devices', key: 'd', value: device({ value: 1, attributes: { a: null, b: 2 } }), timestampMs: T0 - 5 });
    await bus.publish({ topic: 'events.devices', key: 'd', value: '[1,2]', timestampMs: T0 - 4 });
    const request = { model_name: 'dev', model_type: 'linear_regression', feature_keys: ['attributes.a', 'attributes.b'], target_key: 'value', source: { topic: 'events.devices', to: T0 } };
    const out = await runTrainingJob(command('skip', request), deps);
    expect([out.status.status, out.status.rows, out.status.error]).toEqual(['succeeded', 40, undefined]);
    expect(out.status.skipped).toEqual({
      count: 3,
      reasons: [
        { reason: 'attributes.a must be a finite number', count: 1 },
        { reason: 'record is not a JSON object', count: 1 },
        { reason: 'value must be a finite number', count: 1 },
      ],
      examples: [
        { topic: 'events.devices', partition: expect.any(Number), offset: '0', error: 'value must be a finite number, got "abc"' },
        { topic: 'events.devices', partition: expect.any(Number), offset: '41', error: 'attributes.a must be a finite number, got null' },
        { topic: 'events.devices', partition: expect.any(Number), offset: '42', error: 'record is not a JSON object' },
      ],
    });
    expect(out.summary!.provenance.source).toMatchObject({ skipped: 3 });
  });

  it('trains only on the events that match source.filter, so a shared topic can feed a model', async () => {
    const { bus, deps } = await setup();
    // two readings on one topic: temperature rows follow y = 2a − b + 1, humidity rows are noise with a string value
    const temperature = rows.map((r, i) => ({ topic: 'events.devices', key: 'd1', value: JSON.stringify({ payload: { device_id: 'd1', reading: 'temperature', value: r.y, attributes: { a: r.a, b: r.b } } }), timestampMs: T0 - 100 - i }));
    const humidity = rows.map((_, i) => ({ topic: 'events.devices', key: 'd2', value: JSON.stringify({ payload: { device_id: 'd2', reading: 'humidity', value: 'wet', attributes: { a: i, b: -i } } }), timestampMs: T0 - 100 - i }));
    await bus.publishBatch([...temperature, ...humidity]);
    const request = { model_name: 'temp', model_type: 'linear_regression', feature_keys: ['attributes.a', 'attributes.b'], target_key: 'value', source: { topic: 'events.devices', to: T0, filter: { reading: 'temperature' } }, params: { testFraction: 0 } };
    const out = await runTrainingJob(command('filter', request), deps);
    expect([out.status.status, out.status.rows, out.status.filtered_out, out.status.skipped]).toEqual(['succeeded', 40, 40, undefined]);
    expect(out.summary!.metrics.trainR2).toBeCloseTo(1, 12);
    expect(out.summary!.provenance.source).toMatchObject({ filter: { reading: 'temperature' }, filtered_out: 40, skipped: 0 });
  });

  it('fails with a message naming the field for bad input, and publishes no model', async () => {
    const { deps, bus } = await setup();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ model_name: 'x', model_type: 'linear_regression', feature_keys: ['a', 'b'], target_key: 'y', data: [{ a: 1, b: 'oops', y: 1 }] }, 'data[0].b must be a finite number or a decimal string, got "oops"'],
      [{ model_name: 'x', model_type: 'kmeans', feature_keys: ['a'], data: [{ a: 1 }] }, 'params.nClusters is required for kmeans'],
      [{ model_name: 'x', model_type: 'svm', feature_keys: ['a'], data: [{ a: 1 }] }, 'model_type must be one of random_forest, linear_regression, kmeans, isolation_forest, got "svm"'],
      [{ model_name: 'x', model_type: 'kmeans', feature_keys: ['a'], source: { topic: 'events.devices', from: T0, to: T0 + 1 }, params: { nClusters: 1 } }, 'source has no events on events.devices with a time in [2026-11-27T10:00:00.000Z, 2026-11-27T10:00:00.001Z)'],
      [{ model_name: 'x', model_type: 'kmeans', feature_keys: ['a'], source: { topic: 'events.devices', from: T0, to: T0 }, params: { nClusters: 1 } }, 'source.from must be before source.to, got 2026-11-27T10:00:00.000Z ≥ 2026-11-27T10:00:00.000Z'],
    ];
    for (const [i, [req, error]] of cases.entries()) {
      const out = await runTrainingJob(command(`bad${i}`, req), deps);
      expect([out.status.status, out.status.error, out.status.progress]).toEqual(['failed', error, expect.any(Number)]);
    }
    expect(bus.messages(INTERNAL_TOPICS.mlModels)).toEqual([]);
  });

  it('rejects with the abort reason and publishes no terminal status when aborted (shutdown: the job runs again)', async () => {
    const { deps, statuses } = await setup();
    const ac = new AbortController();
    ac.abort(new Error('shutting down'));
    await expect(runTrainingJob(command('j5', linear), { ...deps, signal: ac.signal })).rejects.toThrow('shutting down');
    expect(statuses('j5')).toEqual([]);
    const endless = endlessRunner();
    const mid = new AbortController();
    const job = runTrainingJob(command('j6', linear), { ...deps, runner: endless.runner, signal: mid.signal });
    await endless.started;
    mid.abort(new Error('shutting down'));
    await expect(job).rejects.toThrow('shutting down');
    expect(statuses('j6').map((s) => s.status)).toEqual(['running', 'running']);
  });

  it('stops the training after timeoutMs and ends the job failed with code job_timeout (resolving, so its command is committed), publishing no model', async () => {
    const { deps, bus, statuses } = await setup();
    const endless = endlessRunner();
    const out = await runTrainingJob(command('slow', linear), { ...deps, runner: endless.runner, timeoutMs: 50 });
    const error = 'training job did not finish within 50 ms (ML_JOB_TIMEOUT_MS) and was stopped';
    expect(out).toEqual({
      status: {
        job_id: 'slow',
        status: 'failed',
        progress: 0.3,
        model_name: 'x',
        model_type: 'linear_regression',
        rows: 40,
        error,
        error_code: 'job_timeout',
        submitted_at: '2026-11-27T09:59:59.000Z',
        started_at: '2026-11-27T10:00:00.000Z',
        finished_at: expect.any(String),
        duration_seconds: expect.any(Number),
        updated_at: expect.any(String),
      },
    });
    expect(endless.stopped.map((e) => (e as Error).message)).toEqual([error]);
    expect(statuses('slow').map((s) => s.status)).toEqual(['running', 'running', 'failed']);
    expect(bus.messages(INTERNAL_TOPICS.mlModels)).toEqual([]);
  });

  it('ends the job cancelled with code job_cancelled when stopped by a JobCancelledError, mid-training or before it started', async () => {
    const { deps, bus, statuses } = await setup();
    const endless = endlessRunner();
    const cancel = new AbortController();
    const job = runTrainingJob(command('mid', linear), { ...deps, runner: endless.runner, signal: cancel.signal });
    await endless.started;
    cancel.abort(new JobCancelledError());
    const message = 'training job cancelled on request (DELETE /pipeline/ml/jobs/{job_id})';
    const mid = await job;
    expect([mid.status.status, mid.status.error, mid.status.error_code, mid.status.phase, endless.stopped.length]).toEqual(['cancelled', message, 'job_cancelled', undefined, 1]);
    expect(statuses('mid').map((s) => s.status)).toEqual(['running', 'running', 'cancelled']);
    const before = await runTrainingJob(command('before', linear), { ...deps, signal: cancel.signal });
    expect([before.status.status, before.status.error_code]).toEqual(['cancelled', 'job_cancelled']);
    expect(statuses('before').map((s) => s.status)).toEqual(['cancelled']);
    expect(bus.messages(INTERNAL_TOPICS.mlModels)).toEqual([]);
  });
});
