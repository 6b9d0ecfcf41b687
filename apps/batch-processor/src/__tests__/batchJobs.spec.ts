import { BATCH_TASKS_TOPIC, INTERNAL_TOPICS, batchJobKeys, type BatchTask } from '@pipeline/contracts';
import { createBatchRun, finishBatch, mergeBatchPartials, parseBatchOptions, processBatch, timeWindowMetrics } from '@pipeline/batch';
import { BusError, InMemoryBus, partitionForKey, toOutgoing, type ReadRangeOptions } from '@pipeline/kafka';
import { httpRequest, waitFor } from '@pipeline/testing';
import { metricEvents, startBatchServices } from './memoryHarness';

const post = (url: string, body: unknown) => httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
const windowRequest = { operation: 'time_window_metrics', window_minutes: 1, group_key: 'group_by' };

async function publishEvents(bus: InMemoryBus, events: ReturnType<typeof metricEvents>) {
  await bus.publishBatch(events.map((e) => toOutgoing(e as never)));
}

async function finished(url: string, jobId: string) {
  return waitFor(async () => {
    const r = await httpRequest(`${url}/pipeline/spark/jobs/${jobId}`);
    return ['succeeded', 'failed', 'cancelled'].includes(r.json?.status) ? r.json : undefined;
  }, { timeoutMs: 10_000, what: `job ${jobId} to end` });
}

describe('batch jobs on the in-memory bus (gateway + batch-processor replicas)', () => {
  it('answers an inline job with 200 and the same result as the direct function, after queued → running → succeeded', async () => {
    const env = await startBatchServices();
    try {
      const events = metricEvents(300, T0);
      const res = await post(`${env.url}/pipeline/spark/process`, { ...windowRequest, events });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({
        job_id: expect.any(String),
        operation: 'time_window_metrics',
        status: 'succeeded',
        progress: 1,
        events_read: 300,
        submitted_at: expect.any(String),
        started_at: expect.any(String),
        finished_at: expect.any(String),
        result: JSON.parse(JSON.stringify(timeWindowMetrics(events, { windowMinutes: 1, valueKey: 'value', groupKey: 'group_by' }))),
      });
      expect(env.statusHistory(res.json.job_id).map((r) => r.status)).toEqual(['queued', 'running', 'succeeded']);
      const status = await httpRequest(`${env.url}/pipeline/spark/status`);
      expect(status.json).toEqual({ status: 'ok', mode: 'embedded', events_processed: 300, jobs: { queued: 0, running: 0, succeeded: 1, failed: 0, cancelled: 0 } });
    } finally {
      await env.stop();
    }
  });

  it('splits a source job into one task per partition over two replicas and agrees with one replica and with inline', async () => {
    const events = metricEvents(2_500, T0);
    const source = { topic: 'events.metrics', from: new Date(T0 + 100_000).toISOString(), to: T0 + 2_000_000 };
    const inRange = events.filter((e) => Date.parse(e.timestamp) >= T0 + 100_000 && Date.parse(e.timestamp) < T0 + 2_000_000);
    const results = [];
    for (const replicas of [2, 1]) {
      const env = await startBatchServices({ replicas });
      try {
        await publishEvents(env.bus, events);
        const res = await post(`${env.url}/pipeline/spark/process`, { ...windowRequest, source });
        expect([res.status, res.json.status]).toEqual([202, 'queued']);
        const job = await finished(env.url, res.json.job_id);
        expect(job).toMatchObject({ status: 'succeeded', progress: 1, events_read: inRange.length, tasks: 3 });
        const tasks = env.tasks().map((m) => JSON.parse(m.value.toString()) as BatchTask);
        expect(tasks.map((t) => [t.task, t.partition, m(t)])).toEqual([0, 1, 2].map((p) => [p, p, true]));
        const workers = env.statusHistory(res.json.job_id).at(-1)!.workers;
        expect(workers).toEqual(replicas === 2 ? ['replica-0', 'replica-1'] : ['replica-0']);
        // the finished job's progress and partial keys are emptied
        const leftovers = env.bus.messages(INTERNAL_TOPICS.batchJobs).filter((x) => x.key === batchJobKeys.partial(res.json.job_id, 0));
        expect(leftovers.at(-1)!.value.length).toBe(0);
        results.push(job.result);
      } finally {
        await env.stop();
      }
    }
    expect(results[0]).toEqual(results[1]);
    expect(results[0]).toEqual(JSON.parse(JSON.stringify(timeWindowMetrics(inRange, { windowMinutes: 1, valueKey: 'value', groupKey: 'group_by' }))));
    function m(t: BatchTask) {
      return t.topic === 'events.metrics' && t.from_ms === T0 + 100_000 && t.to_ms === T0 + 2_000_000 && t.tasks === 3;
    }
  });

  it('cancels a running job between chunks: the job ends cancelled and no result is written', async () => {
    const bus = new InMemoryBus({ defaultPartitions: 3, retryDelayMs: 10 });
    let cancelled: () => void = () => undefined;
    const cancelSeen = new Promise<void>((r) => (cancelled = r));
    const readRange = bus.readRange.bind(bus);
    let chunks = 0;
    // After the first chunk of the first read, hold the read until the test has cancelled the job.
    bus.readRange = (o: ReadRangeOptions) =>
      readRange({
        ...o,
        onBatch: async (msgs, p) => {
          await o.onBatch(msgs, p);
          if (++chunks === 1) await cancelSeen;
        },
      });
    const env = await startBatchServices({ bus });
    try {
      await publishEvents(bus, metricEvents(6_000, T0));
      const res = await post(`${env.url}/pipeline/spark/process`, { operation: 'process_batch', source: { topic: 'events.metrics', from: T0, to: T0 + 10_000_000 } });
      await waitFor(() => chunks >= 1, { what: 'the first chunk' });
      const del = await httpRequest(`${env.url}/pipeline/spark/jobs/${res.json.job_id}`, { method: 'DELETE' });
      cancelled();
      expect([del.status, del.json.status, del.json.reason]).toEqual([200, 'cancelled', 'cancel requested']);
      const job = await finished(env.url, res.json.job_id);
      expect(job.result).toBeUndefined();
      await new Promise((r) => setTimeout(r, 100));
      expect(env.statusHistory(res.json.job_id).map((r) => r.status)).toEqual(['queued', 'running', 'cancelled']);
      const again = await httpRequest(`${env.url}/pipeline/spark/jobs/${res.json.job_id}`, { method: 'DELETE' });
      expect([again.status, again.json.error]).toEqual([409, { code: 'job_finished', message: `batch job ${res.json.job_id} already cancelled; only queued or running jobs can be cancelled` }]);
    } finally {
      await env.stop();
    }
  });

  it('delivers a task again when its replica failed mid-read (retriable error) and gets the answer of the per-partition merge', async () => {
    const bus = new InMemoryBus({ defaultPartitions: 3, retryDelayMs: 10 });
    const readRange = bus.readRange.bind(bus);
    let failures = 0;
    bus.readRange = async (o: ReadRangeOptions) => {
      if (o.partitions?.[0] === 1 && failures++ === 0) {
        await readRange({ ...o, onBatch: async () => undefined, partitions: [1] });
        throw new BusError('connection lost', true);
      }
      return readRange(o);
    };
    const env = await startBatchServices({ bus, replicas: 2 });
    try {
      const events = metricEvents(1_000, T0);
      await publishEvents(bus, events);
      const res = await post(`${env.url}/pipeline/spark/process`, { operation: 'process_batch', source: { topic: 'events.metrics', from: T0, to: T0 + 10_000_000 } });
      const job = await finished(env.url, res.json.job_id);
      expect(failures).toBe(2);
      expect([job.status, job.events_read]).toEqual(['succeeded', 1_000]);
      // The partials of partitions 0, 1, 2 merged in that order, as the lib defines a split job's answer
      // (float mean/stddev of a merge may differ from one pass over another order in the last bits).
      const options = parseBatchOptions('process_batch', {});
      const partials = [0, 1, 2].map((p) => {
        const run = createBatchRun(options);
        run.add(bus.messages('events.metrics').filter((m) => m.partition === p).map((m) => JSON.parse(m.value.toString())));
        return run.partial();
      });
      expect(job.result).toEqual(JSON.parse(JSON.stringify(finishBatch(options, mergeBatchPartials(options, partials)))));
      expect(job.result).toMatchObject({ count: 1_000, sum: processBatch(events).sum });
    } finally {
      await env.stop();
    }
  });

  it('fails a job whose deadline passes with the reason, and refuses an inline job with a bad event at the door, naming the field', async () => {
    const env = await startBatchServices({ env: { BATCH_JOB_TIMEOUT_MS: '1000' } });
    const readRange = env.bus.readRange.bind(env.bus);
    env.bus.readRange = async (o: ReadRangeOptions) => {
      await new Promise((r) => setTimeout(r, 1_300));
      return readRange(o);
    };
    try {
      await publishEvents(env.bus, metricEvents(10, T0));
      const res = await post(`${env.url}/pipeline/spark/process`, { operation: 'process_batch', source: { topic: 'events.metrics', from: T0, to: T0 + 100_000 } });
      const job = await finished(env.url, res.json.job_id);
      expect(job.status).toBe('failed');
      expect(job.reason).toMatch(/^job did not finish within 1000 ms \(deadline \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\)$/);
      const bad = await post(`${env.url}/pipeline/spark/process`, { operation: 'process_batch', events: [{ value: 1, timestamp: T0 }, { value: 'abc', timestamp: T0 }] });
      // refused by the gateway before a job exists (it was 400 job_failed, after a job had run and failed)
      expect([bad.status, bad.json.error.code, bad.json.error.message]).toEqual([400, 'invalid_request', 'events[1].value must be a finite number, got "abc"']);
    } finally {
      await env.stop();
    }
  });

  it('rejects bad requests with a 400 naming the field, and unknown jobs with 404', async () => {
    const env = await startBatchServices({ replicas: 0 });
    try {
      const cases: [unknown, string][] = [
        [{ operation: 'pivot', events: [{}] }, 'operation must be one of process_batch, time_window_metrics, join, detect_anomalies, got "pivot"'],
        [{ operation: 'time_window_metrics', events: [{}] }, 'events[0].timestamp is required (at the top level or in payload)'],
        [{ operation: 'time_window_metrics', window_minutes: 0, events: [{ timestamp: 0 }] }, 'window_minutes must be greater than 0, got 0'],
        [{ operation: 'time_window_metrics', window_minutes: -5, events: [{ timestamp: 0 }] }, 'window_minutes must be greater than 0, got -5'],
        [{ operation: 'time_window_metrics', window_minutes: 'abc', events: [{ timestamp: 0 }] }, 'window_minutes must be number, got "abc"'],
        [{ operation: 'detect_anomalies', events: [{}] }, 'threshold_std is required'],
        [{ operation: 'join', left: [], right: [] }, 'join_key is required'],
        [{ operation: 'process_batch' }, 'events or source is required'],
        [{ operation: 'process_batch', events: [] }, 'events must have at least 1 item, got 0'],
        [{ operation: 'process_batch', source: { topic: 'events.metrics', from: '2024-05-02T00:00:00Z', to: '2024-05-01T00:00:00Z' } }, 'source.from must not be after source.to, got from "2024-05-02T00:00:00Z" and to "2024-05-01T00:00:00Z"'],
        [{ operation: 'process_batch', source: { topic: 'events.metrics', from: 'yesterday', to: 1 } }, 'source.from must be an ISO-8601 date-time with a zone or epoch milliseconds, got "yesterday"'],
        [{ operation: 'process_batch', source: { topic: 'events.metrics', from: 0 } }, 'source.to is required'],
        [[1], 'body must be a JSON object with "operation" and "events" or "source", got [1]'],
      ];
      for (const [body, message] of cases) {
        const r = await post(`${env.url}/pipeline/spark/process`, body);
        expect([r.status, r.json]).toEqual([400, { error: { code: 'invalid_request', message } }]);
      }
      const missing = await httpRequest(`${env.url}/pipeline/spark/jobs/nope`);
      expect([missing.status, missing.json]).toEqual([404, { error: { code: 'job_not_found', message: 'no batch job with id "nope"' } }]);
      const del = await httpRequest(`${env.url}/pipeline/spark/jobs/nope`, { method: 'DELETE' });
      expect(del.status).toBe(404);
      expect(env.bus.messages(INTERNAL_TOPICS.batchCommands)).toEqual([]);
      expect(env.bus.messages(BATCH_TASKS_TOPIC)).toEqual([]);
    } finally {
      await env.stop();
    }
  });

  it('lists jobs a page at a time, newest first: limit, next_cursor until null, count of all; a bad limit or cursor is a 400 naming it', async () => {
    const env = await startBatchServices();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await post(`${env.url}/pipeline/spark/process`, { operation: 'process_batch', events: [{ timestamp: T0 + i, value: i }] });
        expect([r.status, r.json.status]).toEqual([200, 'succeeded']);
        ids.unshift(r.json.job_id); // newest first
      }
      const seen: string[] = [];
      let url = `${env.url}/pipeline/spark/jobs?limit=2`;
      for (let page = 0; page < 3; page++) {
        const r = await httpRequest(url);
        expect([r.status, r.json.count, r.json.jobs.length]).toEqual([200, 5, page < 2 ? 2 : 1]);
        expect(r.json.jobs.every((j: Record<string, unknown>) => j['status'] === 'succeeded' && !('result' in j))).toBe(true);
        seen.push(...r.json.jobs.map((j: { job_id: string }) => j.job_id));
        if (page < 2) url = `${env.url}/pipeline/spark/jobs?limit=2&cursor=${encodeURIComponent(r.json.next_cursor)}`;
        else expect(r.json.next_cursor).toBeNull();
      }
      // every job once over the pages (jobs submitted in the same millisecond are listed by job id, not by submission order)
      expect(seen.length).toBe(5);
      expect(new Set(seen)).toEqual(new Set(ids));
      const all = await httpRequest(`${env.url}/pipeline/spark/jobs`);
      expect([all.json.jobs.map((j: { job_id: string }) => j.job_id), all.json.count, all.json.next_cursor]).toEqual([seen, 5, null]);
      const none = await httpRequest(`${env.url}/pipeline/spark/jobs?status=failed`);
      expect(none.json).toEqual({ jobs: [], count: 0, next_cursor: null });
      const badLimit = await httpRequest(`${env.url}/pipeline/spark/jobs?limit=1001`);
      expect([badLimit.status, badLimit.json]).toEqual([400, { error: { code: 'invalid_request', message: 'limit must be an integer from 1 to 1000, got "1001"' } }]);
      const badCursor = await httpRequest(`${env.url}/pipeline/spark/jobs?cursor=abc`);
      expect([badCursor.status, badCursor.json]).toEqual([400, { error: { code: 'invalid_request', message: 'cursor must be the next_cursor of an earlier page, got "abc"' } }]);
    } finally {
      await env.stop();
    }
  });

  it('deletes finished jobs past JOB_RETENTION_HOURS at start, keeps young and running ones, and does not rerun the command of a deleted job', async () => {
    const bus = new InMemoryBus({ defaultPartitions: 3, retryDelayMs: 10 });
    const env = await startBatchServices({ bus, replicas: 0, env: { JOB_RETENTION_HOURS: '1' } });
    const old = new Date(Date.now() - 2 * 3_600_000).toISOString();
    const young = new Date(Date.now() - 60_000).toISOString();
    const status = (job_id: string, s: string, at: string) => ({ topic: INTERNAL_TOPICS.batchJobs, key: batchJobKeys.status(job_id), value: JSON.stringify({ job_id, operation: 'process_batch', status: s, submitted_at: at, finished_at: at }) });
    await bus.publishBatch([status('old-done', 'succeeded', old), status('old-failed', 'failed', old), status('young-done', 'succeeded', young), status('old-running', 'running', old)]);
    // the command of a job deleted after its retention, delivered again (a new consumer group reads the commands from the beginning)
    const command = (job_id: string, at: string) => ({ topic: INTERNAL_TOPICS.batchCommands, key: job_id, value: JSON.stringify({ job_id, request: { operation: 'process_batch', events: [{ timestamp: T0 }] }, submitted_at: at }) });
    // …followed on its partition by a young command, whose end shows the old one was read
    let marker = 'marker-0';
    for (let i = 1; partitionForKey(marker, 3) !== partitionForKey('deleted', 3); i++) marker = `marker-${i}`;
    await bus.publishBatch([command('deleted', old), command(marker, young)]);
    const processor = await startBatchServices({ bus, env: { JOB_RETENTION_HOURS: '1' } }); // sweeps at start
    try {
      const listed = await waitFor(async () => {
        const r = await httpRequest(`${env.url}/pipeline/spark/jobs`);
        return r.json.count === 2 ? r.json.jobs.map((j: { job_id: string }) => j.job_id).sort() : undefined;
      }, { timeoutMs: 10_000, what: 'the old finished jobs to be deleted' });
      expect(listed).toEqual(['old-running', 'young-done']);
      const tombstoned = bus.messages(INTERNAL_TOPICS.batchJobs).filter((m) => m.value.length === 0).map((m) => m.key).sort();
      expect(tombstoned).toEqual(['job/old-done', 'job/old-done/cancel', 'job/old-failed', 'job/old-failed/cancel']);
      // the young command after the old one is run; the old command's job never is
      await waitFor(() => processor.statusHistory(marker).some((r) => r.status === 'succeeded'), { timeoutMs: 10_000, what: 'the young command to run' });
      expect(processor.statusHistory('deleted')).toEqual([]);
    } finally {
      await processor.stop();
      await env.stop().catch(() => undefined); // the shared bus is already closed by the first stop
    }
  });
});
