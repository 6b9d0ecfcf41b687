import { INTERNAL_TOPICS, type BatchProgressRecord } from '@pipeline/contracts';
import { timeWindowMetrics } from '@pipeline/batch';
import { type Subscription, type EventBus } from '@pipeline/kafka';
import { createTestBus, emptyEventTimeRange, httpRequest, kafkaBrokers, uniqueName, waitFor } from '@pipeline/testing';
import { metricEnvelopes, publishEnvelopes, spawnProcessor, startGateway, type Processor } from './processHarness';

jest.setTimeout(240_000);

// Sources are event topics only (issue 21), which every run and spec on the broker shares: this run's
// records go to events.metrics in an event-time range no record was in before (emptyEventTimeRange: a
// whole hour within the broker's 7-day retention, so window boundaries stay the same kind of case in
// every run), under a metric name of its own, and every job reads only that range:
//   [T0, T0 + 1 h)      small   3,000 events, one a second
//   [T0 + 1 h, T0 + 2 h) mixed   malformed records among good ones
//   [T0 + 2 h, …)       big     150,000 events, one per 10 ms
const TOPIC = 'events.metrics';
const HOUR = 3_600_000;
const BIG_EVENTS = Number(process.env['BATCH_IT_BIG_EVENTS'] ?? 150_000);
let T0 = 0;
const post = (url: string, body: unknown) => httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const request = { operation: 'time_window_metrics', window_minutes: 5, group_key: 'group_by' };
const plain = (v: unknown) => JSON.parse(JSON.stringify(v));
/**
 * Window rows with mean and stddev rounded to 1e-9: counts, sums, min and max of integer values are
 * exact in any merge order, but mean/stddev of a merge of partials differ from one pass in the last bits.
 */
const rounded = (rows: Record<string, unknown>[]) => rows.map((r) => ({ ...r, mean: Math.round((r['mean'] as number) * 1e9) / 1e9 + 0, stddev: Math.round((r['stddev'] as number) * 1e9) / 1e9 + 0 }));
const direct = (events: unknown[]) => rounded(plain(timeWindowMetrics(events, { windowMinutes: 5, valueKey: 'value', groupKey: 'group_by' })));
let twoReplicaResult: unknown;
let left: Processor;

describe('batch jobs on a real broker with batch-processor processes', () => {
  const metric = uniqueName('batch-it');
  const groupId = uniqueName('batch-it');
  // filled in beforeAll, once T0 is known
  let smallEvents: ReturnType<typeof metricEnvelopes> = [];
  let bigEvents: ReturnType<typeof metricEnvelopes> = [];
  let smallRange: { topic: string; from: string; to: number };
  let inSmallRange: ReturnType<typeof metricEnvelopes> = [];
  let bigRange: { topic: string; from: number; to: number };
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  let a: Processor;
  let b: Processor;
  let progressBus: EventBus;
  let progressSub: Subscription;
  const progress: BatchProgressRecord[] = [];
  /** Who stored each task's partial (job, task, worker). */
  const partials: { job_id: string; task: number; worker: string }[] = [];
  const spawned: Processor[] = [];
  const extra = { BATCH_PROGRESS_INTERVAL_MS: '50', BATCH_WATCHDOG_INTERVAL_MS: '200' };

  const finished = (jobId: string, timeoutMs = 90_000) =>
    waitFor(
      async () => {
        const r = await httpRequest(`${gateway.url}/pipeline/spark/jobs/${jobId}`);
        return ['succeeded', 'failed', 'cancelled'].includes(r.json?.status) ? r.json : undefined;
      },
      { timeoutMs, intervalMs: 200, what: `job ${jobId} to end` },
    );
  const split = async (replicas: Processor[]) => {
    await waitFor(
      async () => {
        const lists = await Promise.all(replicas.map((r) => r.assignments()));
        const tasks = lists.map((l) => l.filter((x) => x.topic === 'pipeline.batch.tasks').length);
        return tasks.every((n) => n > 0) && tasks.reduce((x, y) => x + y, 0) === 3;
      },
      { timeoutMs: 90_000, intervalMs: 250, what: 'the tasks partitions to be split over the replicas' },
    );
  };

  beforeAll(async () => {
    gateway = await startGateway({ SYNC_WAIT_MS: '10000' }); // creates the pipeline topics, events.metrics among them
    const probe = createTestBus({ brokers: kafkaBrokers(), clientId: 'batch-it-range' });
    try {
      T0 = await emptyEventTimeRange(probe, TOPIC, 2 * HOUR + 10 * BIG_EVENTS);
    } finally {
      await probe.close();
    }
    smallEvents = metricEnvelopes(3_000, T0, TOPIC, 1000, metric);
    bigEvents = metricEnvelopes(BIG_EVENTS, T0 + 2 * HOUR, TOPIC, 10, metric);
    smallRange = { topic: TOPIC, from: new Date(T0 + 100_000).toISOString(), to: T0 + 2_800_000 };
    inSmallRange = smallEvents.filter((e) => Date.parse(e.timestamp) >= T0 + 100_000 && Date.parse(e.timestamp) < T0 + 2_800_000);
    bigRange = { topic: TOPIC, from: T0 + 2 * HOUR, to: T0 + 2 * HOUR + 10 * bigEvents.length };
    await Promise.all([publishEnvelopes(smallEvents), publishEnvelopes(bigEvents)]);
    a = await spawnProcessor({ groupId, workerId: 'replica-a', extra });
    b = await spawnProcessor({ groupId, workerId: 'replica-b', extra });
    await Promise.all([a.ready(), b.ready()]);
    await split([a, b]);
    progressBus = createTestBus({ brokers: kafkaBrokers(), clientId: 'batch-it-progress' });
    progressSub = await progressBus.subscribe({
      groupId: uniqueName('batch-it-progress'),
      topics: [INTERNAL_TOPICS.batchJobs],
      handler: async (batch) => {
        for (const m of batch.messages) {
          if (m.value.length === 0) continue;
          if (m.key?.includes('/progress/')) progress.push(JSON.parse(m.value.toString()));
          if (m.key?.includes('/partial/')) partials.push(JSON.parse(m.value.toString()));
        }
      },
    });
  });
  afterAll(async () => {
    await progressSub?.stop();
    await progressBus?.close();
    await Promise.all([a, b, ...spawned].map((p) => p?.kill('SIGKILL')));
    await gateway?.stop();
  });

  it('splits a time-range job over two replicas and gets the same result as the same events inline', async () => {
    const res = await post(`${gateway.url}/pipeline/spark/process`, { ...request, source: smallRange });
    expect([res.status, res.json]).toEqual([202, { job_id: expect.any(String), status: 'queued' }]);
    const job = await finished(res.json.job_id);
    expect(job).toMatchObject({ status: 'succeeded', progress: 1, events_read: inSmallRange.length, tasks: 3 });
    const inline = await post(`${gateway.url}/pipeline/spark/process`, { ...request, events: inSmallRange });
    expect([inline.status, inline.json.status, inline.json.events_read]).toEqual([200, 'succeeded', inSmallRange.length]);
    expect(rounded(job.result)).toEqual(rounded(inline.json.result));
    expect(rounded(job.result)).toEqual(direct(inSmallRange));
    twoReplicaResult = job.result;
    const workers = new Set(progress.filter((p) => p.job_id === res.json.job_id).map((p) => p.worker));
    expect([...workers].sort()).toEqual(['replica-a', 'replica-b']);
  });

  it('cancels a job mid-read: it ends cancelled with no result', async () => {
    const res = await post(`${gateway.url}/pipeline/spark/process`, { ...request, source: bigRange });
    await waitFor(() => progress.some((p) => p.job_id === res.json.job_id && p.progress > 0 && p.progress < 1), { timeoutMs: 60_000, intervalMs: 20, what: 'progress' });
    const del = await httpRequest(`${gateway.url}/pipeline/spark/jobs/${res.json.job_id}`, { method: 'DELETE' });
    expect([200, 202]).toContain(del.status);
    const job = await finished(res.json.job_id);
    expect([job.status, job.reason, job.result]).toEqual(['cancelled', 'cancel requested', undefined]);
    expect(job.events_read).toBeLessThan(bigEvents.length);
  });

  it('finishes a job whose replica was killed mid-read: the other replica takes the task over', async () => {
    // On a loaded machine the victim can finish its task between the progress record this test sees and
    // the kill; then no takeover happened, so the scenario is set up again with a fresh second replica.
    for (let attempt = 1; ; attempt++) {
      const res = await post(`${gateway.url}/pipeline/spark/process`, { ...request, source: bigRange });
      // A task in its first half — or, on a fast machine, every task already read to the end before this
      // reader saw one (then nothing was killed and the attempt is repeated).
      const jobId = res.json.job_id as string;
      const seenOrDone = await waitFor<BatchProgressRecord | 'all read' | undefined>(
        () => {
          const early = progress.find((p) => p.job_id === jobId && p.progress > 0 && p.progress < 0.5);
          if (early) return early;
          return new Set(progress.filter((p) => p.job_id === jobId && p.progress === 1).map((p) => p.task)).size === 3 ? 'all read' : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 10, what: 'a task in its first half' },
      );
      if (seenOrDone === 'all read') {
        await finished(jobId);
        if (attempt === 3) throw new Error('in 3 attempts every task was read to the end before a progress record of its first half arrived: the takeover was never exercised');
        continue;
      }
      const reading = seenOrDone;
      if (!reading) throw new Error('unreachable');
      const [victim, survivor] = reading.worker === a.workerId ? [a, b] : [b, a];
      await victim.kill('SIGKILL');
      const job = await finished(res.json.job_id, 150_000);
      expect([job.status, job.events_read, job.reason]).toEqual(['succeeded', bigEvents.length, undefined]);
      expect(rounded(job.result)).toEqual(direct(bigEvents));
      const victimFinished = partials.some((p) => p.job_id === res.json.job_id && p.task === reading.task && p.worker === victim.workerId);
      if (!victimFinished) {
        // the killed replica's task was read again, to the end, by the survivor (its progress record is on
        // another partition of the jobs topic than the status, so this reader may see it a moment later)
        const seen = () => JSON.stringify({
          victim: victim.workerId,
          progress: progress.filter((p) => p.job_id === res.json.job_id && p.task === reading.task).map((p) => [p.worker, p.progress]),
          partials: partials.filter((p) => p.job_id === res.json.job_id && p.task === reading.task).map((p) => p.worker),
        });
        await waitFor(() => progress.some((p) => p.job_id === res.json.job_id && p.task === reading.task && p.worker === survivor.workerId && p.progress === 1), {
          timeoutMs: 10_000,
          what: "the survivor's progress 1 on the killed replica's task",
        }).catch((e: Error) => {
          throw new Error(`${e.message}; records of that task: ${seen()}`);
        });
        left = survivor;
        return;
      }
      if (attempt === 3) throw new Error(`in 3 attempts the killed replica always stored its task's partial before the kill landed: the takeover was never exercised`);
      const replacement = await spawnProcessor({ groupId, workerId: `replica-retry-${attempt}`, extra });
      spawned.push(replacement);
      await replacement.ready();
      [a, b] = [survivor, replacement];
      await split([a, b]);
    }
  });

  it('gives the same answer with one replica left as with two', async () => {
    const res = await post(`${gateway.url}/pipeline/spark/process`, { ...request, source: smallRange });
    const job = await finished(res.json.job_id);
    // the same partials merged in the same task order: bit-identical to the two-replica run
    expect([job.status, job.result]).toEqual(['succeeded', twoReplicaResult]);
    expect(new Set(progress.filter((p) => p.job_id === res.json.job_id).map((p) => p.worker))).toEqual(new Set([left.workerId]));
  });

  it('rejects bad requests with clear 400s, a source topic that is not an event topic included', async () => {
    const bad = await post(`${gateway.url}/pipeline/spark/process`, { operation: 'time_window_metrics', window_minutes: -1, source: smallRange });
    expect([bad.status, bad.json]).toEqual([400, { error: { code: 'invalid_request', message: 'window_minutes must be greater than 0, got -1' } }]);
    const range = await post(`${gateway.url}/pipeline/spark/process`, { ...request, source: { topic: TOPIC, from: 10, to: 5 } });
    expect([range.status, range.json]).toEqual([400, { error: { code: 'invalid_request', message: 'source.from must not be after source.to, got from 10 and to 5' } }]);
    const allowed = 'events.analytics, events.devices, events.reality, events.errors, events.metrics, events.user';
    // refused at the door, whether the topic exists or not (a topic that did not exist was 202, then a job failed with 'source topic "…" is not readable')
    const missing = uniqueName('itest.none');
    const res = await post(`${gateway.url}/pipeline/spark/process`, { ...request, source: { topic: missing, from: 0, to: 1 } });
    expect([res.status, res.json]).toEqual([400, { error: { code: 'invalid_request', message: `source.topic must be one of ${allowed}, got "${missing}"` } }]);
    const internal = await post(`${gateway.url}/pipeline/spark/process`, { ...request, source: { topic: INTERNAL_TOPICS.batchJobs, from: 0, to: 1 } });
    expect([internal.status, internal.json]).toEqual([400, { error: { code: 'invalid_request', message: `source.topic must be one of ${allowed}, got "pipeline.batch.jobs"` } }]);
  });

  it('skips malformed records of a range and reports them instead of failing the job, and reads envelopes without timestamp at their record time', async () => {
    const mixed = TOPIC;
    const M0 = T0 + HOUR; // this test's own hour of the range
    const good = metricEnvelopes(30, M0, mixed, 1000, metric);
    const { timestamp: _t, ...untimed } = metricEnvelopes(1, M0, mixed, 1000, metric)[0]!;
    const producer = createTestBus({ brokers: kafkaBrokers(), clientId: 'batch-it-mixed' });
    try {
      await producer.publishBatch([
        ...good.map((e) => ({ topic: mixed, key: e.key, value: JSON.stringify(e), timestampMs: Date.parse(e.timestamp) })),
        { topic: mixed, key: metric, value: 'not json', timestampMs: M0 + 5 },
        { topic: mixed, key: metric, value: JSON.stringify({ ...good[0], payload: { metric_name: metric, value: 'abc' } }), timestampMs: M0 + 6 },
        { topic: mixed, key: metric, value: JSON.stringify({ ...untimed, payload: { metric_name: metric, value: 1000 } }), timestampMs: M0 + 7 },
      ]);
    } finally {
      await producer.close();
    }
    const res = await post(`${gateway.url}/pipeline/spark/process`, { operation: 'process_batch', source: { topic: mixed, from: M0, to: M0 + HOUR } });
    expect(res.status).toBe(202);
    const job = await finished(res.json.job_id);
    const sum = good.reduce((a, e) => a + e.payload.value, 0) + 1000;
    expect([job.status, job.reason, job.events_read, job.result.count, job.result.sum]).toEqual(['succeeded', undefined, 33, 31, sum]);
    expect(job.skipped).toEqual({
      count: 2,
      reasons: [
        { reason: 'record is not JSON', count: 1 },
        { reason: 'value must be a finite number', count: 1 },
      ],
      examples: [
        { topic: mixed, partition: expect.any(Number), offset: expect.any(String), error: 'record is not JSON' },
        { topic: mixed, partition: expect.any(Number), offset: expect.any(String), error: 'value must be a finite number, got "abc"' },
      ],
    });
  });
});
