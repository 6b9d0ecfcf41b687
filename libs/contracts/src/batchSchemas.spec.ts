import { ContractError } from './errors';
import { BatchDetectAnomaliesSchema, BatchJoinSchema, BatchTimeWindowSchema, parseBatchJobKey, parseBatchRequest, readBatchInput, summarizeBatchJob, type BatchJobRecord } from './batchSchemas';
import { compileValidator } from './validateEvent';

describe('parseBatchJobKey', () => {
  it('reads the four key kinds and nothing else', () => {
    expect(parseBatchJobKey('job/a1')).toEqual({ kind: 'status', jobId: 'a1' });
    expect(parseBatchJobKey('job/a1/cancel')).toEqual({ kind: 'cancel', jobId: 'a1' });
    expect(parseBatchJobKey('job/a1/progress/12')).toEqual({ kind: 'progress', jobId: 'a1', task: 12 });
    expect(parseBatchJobKey('job/a1/partial/0')).toEqual({ kind: 'partial', jobId: 'a1', task: 0 });
    for (const k of ['a1', 'job/', 'job/a1/partial/x', 'job/a1/other', 'job/a1/partial/1/2']) expect(parseBatchJobKey(k)).toBeUndefined();
  });
});

describe('summarizeBatchJob', () => {
  const running: BatchJobRecord = { job_id: 'j', operation: 'process_batch', status: 'running', submitted_at: 's', started_at: 't', tasks: 4 };
  it('averages task progress over all tasks (missing = 0) and sums events read', () => {
    const p = (task: number, progress: number, events_read: number) => ({ job_id: 'j', task, progress, events_read, worker: 'w' });
    expect(summarizeBatchJob(running, [p(0, 1, 10), p(2, 0.5, 7)], true)).toEqual({
      job_id: 'j', operation: 'process_batch', status: 'running', progress: 0.375, events_read: 17, submitted_at: 's', started_at: 't', tasks: 4, cancel_requested: true,
    });
  });
  it('reports a succeeded job as progress 1 with its own events_read and result, and a queued one as 0', () => {
    expect(summarizeBatchJob({ ...running, status: 'succeeded', events_read: 30, result: [1], finished_at: 'f' }, [])).toEqual({
      job_id: 'j', operation: 'process_batch', status: 'succeeded', progress: 1, events_read: 30, submitted_at: 's', started_at: 't', finished_at: 'f', tasks: 4, result: [1],
    });
    expect(summarizeBatchJob({ job_id: 'q', operation: 'join', status: 'queued', submitted_at: 's' }, [], true)).toEqual({
      job_id: 'q', operation: 'join', status: 'queued', progress: 0, events_read: 0, submitted_at: 's', cancel_requested: true,
    });
  });
});

describe('readBatchInput', () => {
  const err = (body: Record<string, unknown>, join = false) => {
    try {
      readBatchInput(body, join);
    } catch (e) {
      return [(e as ContractError).field, (e as Error).message];
    }
    return undefined;
  };
  it('reads inline events, join sides and source ranges (ISO or epoch ms; from = to allowed)', () => {
    expect(readBatchInput({ events: [{ a: 1 }] }, false)).toEqual({ kind: 'events', events: [{ a: 1 }] });
    expect(readBatchInput({ left: [], right: [1] }, true)).toEqual({ kind: 'join_events', left: [], right: [1] });
    expect(readBatchInput({ source: { topic: 'events.user', from: '2024-05-01T00:00:00+02:00', to: 1714514400000 } }, false)).toEqual({
      kind: 'source',
      sources: [{ topic: 'events.user', fromMs: 1714514400000, toMs: 1714514400000 }],
    });
    expect(readBatchInput({ source: { topic: 'events.user', from: 1, to: 2 }, right_source: { topic: 'events.metrics', from: 3, to: 4 } }, true)).toEqual({
      kind: 'source',
      sources: [{ side: 'left', topic: 'events.user', fromMs: 1, toMs: 2 }, { side: 'right', topic: 'events.metrics', fromMs: 3, toMs: 4 }],
    });
  });
  it('names the field of every mistake', () => {
    expect(err({ events: [1], source: { topic: 'events.user', from: 1, to: 2 } })).toEqual(['events', 'events and source are exclusive: give inline events or a source range']);
    expect(err({ events: 'x' })).toEqual(['events', 'events must be an array of events, got "x"']);
    expect(err({ source: { topic: 'events.user', from: 3, to: 2 } })).toEqual(['source.from', 'source.from must not be after source.to, got from 3 and to 2']);
    expect(err({ source: { topic: 'events.user', from: '2024-05-01T00:00:00', to: 2 } })).toEqual(['source.from', 'source.from must be an ISO-8601 date-time with a zone or epoch milliseconds, got "2024-05-01T00:00:00"']);
    const allowed = 'events.analytics, events.devices, events.reality, events.errors, events.metrics, events.user';
    expect(err({ source: { topic: 'pipeline.batch.jobs', from: 1, to: 2 } })).toEqual(['source.topic', `source.topic must be one of ${allowed}, got "pipeline.batch.jobs"`]);
    expect(err({ source: { topic: 'orders', from: 1, to: 2 } })).toEqual(['source.topic', `source.topic must be one of ${allowed}, got "orders"`]);
    expect(err({ source: { topic: 'events.user', from: 1, to: 2 }, right_source: { topic: '__consumer_offsets', from: 1, to: 2 } }, true)).toEqual([
      'right_source.topic',
      `right_source.topic must be one of ${allowed}, got "__consumer_offsets"`,
    ]);
    expect(err({ source: { topic: 'events.user', from: 1, to: 2, extra: 1 } })).toEqual(['source.extra', 'source.extra is not an allowed field']);
    expect(err({ left: [] })).toEqual(['left', 'left is only used by join']);
    expect(err({ left: [] }, true)).toEqual(['right', 'right is required for join (or source and right_source)']);
    expect(err({ source: { topic: 'events.user', from: 1, to: 2 } }, true)).toEqual(['right_source', 'right_source is required with source (the right side of the join)']);
    expect(err({ events: [1] }, true)).toEqual(['events', 'events is not used by join: give left and right, or source and right_source']);
  });
});

describe('parseBatchRequest', () => {
  const errorOf = (body: unknown) => {
    try {
      parseBatchRequest(body);
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  };

  it('accepts what the published schema of the operation accepts, with the defaults it documents', () => {
    const windows = { operation: 'time_window_metrics', events: [{ timestamp: 0, payload: {} }] };
    expect(compileValidator(BatchTimeWindowSchema).Check(windows)).toBe(true);
    expect(parseBatchRequest(windows).input).toEqual({ kind: 'events', events: [{ timestamp: 0, payload: {} }] });
    expect(BatchTimeWindowSchema.properties.window_minutes.default).toBe(60);
    expect(errorOf({ operation: 'process_batch', events: [{ payload: { timestamp: '2024-05-01T00:00:00Z' } }] })).toBeUndefined();
  });

  it('refuses what the schema refuses, and the schema says so: join_key and threshold_std are required, unknown fields are not allowed', () => {
    expect(BatchJoinSchema.required).toContain('join_key');
    expect(BatchDetectAnomaliesSchema.required).toContain('threshold_std');
    expect(errorOf({ operation: 'join', left: [], right: [] })).toBe('join_key is required');
    expect(errorOf({ operation: 'detect_anomalies', events: [{}] })).toBe('threshold_std is required');
    expect(errorOf({ operation: 'time_window_metrics', slide_minute: 5, events: [{ timestamp: 0 }] })).toBe(
      'slide_minute is not an allowed field (allowed: operation, events, source, value_key, group_key, window_minutes, slide_minutes)',
    );
    expect(errorOf({ operation: 'process_batch', source: { topic: 'events.user', from: '2024-02-30T00:00:00Z', to: 0 } })).toBe(
      'source.from must be an ISO-8601 date-time with a zone or epoch milliseconds, got "2024-02-30T00:00:00Z"',
    );
    expect(errorOf({ operation: 'process_batch', events: [{ payload: {} }] })).toBe('events[0].timestamp is required (at the top level or in payload)');
    expect(errorOf({ operation: 'time_window_metrics', window_minutes: 1e6, events: [{ timestamp: 0 }] })).toBe('window_minutes must be at most 527040, got 1000000');
    // source topics: an allow-list of the event topics (as for training), in the published schema too
    const allowed = 'events.analytics, events.devices, events.reality, events.errors, events.metrics, events.user';
    expect(errorOf({ operation: 'process_batch', source: { topic: 'pipeline.ml.models', from: 0, to: 1 } })).toBe(`source.topic must be one of ${allowed}, got "pipeline.ml.models"`);
    expect(errorOf({ operation: 'join', join_key: 'k', source: { topic: 'events.user', from: 0, to: 1 }, right_source: { topic: 'payments', from: 0, to: 1 } })).toBe(
      `right_source.topic must be one of ${allowed}, got "payments"`,
    );
    expect(errorOf({ operation: 'reduce' })).toBe('operation must be one of process_batch, time_window_metrics, join, detect_anomalies, got "reduce"');
  });
});
