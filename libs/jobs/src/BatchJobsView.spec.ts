import { INTERNAL_TOPICS, type BatchJobRecord } from '@pipeline/contracts';
import { InMemoryBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { BatchJobsView } from './BatchJobsView';
import { readJobPageQuery } from './pageJobs';

const T0 = '2026-12-01T10:00:00.000Z';
const running: BatchJobRecord = { job_id: 'j1', operation: 'process_batch', status: 'running', submitted_at: T0, started_at: T0, tasks: 2 };
const topicLog = (bus: InMemoryBus, topic: string) => bus.messages(topic).map((m) => [m.key, m.value.length === 0 ? null : JSON.parse(m.value.toString())]);

describe('BatchJobsView (pipeline.batch.jobs, in-memory bus)', () => {
  let bus: InMemoryBus;
  let gateway: BatchJobsView;
  let processor: BatchJobsView;
  beforeEach(async () => {
    bus = new InMemoryBus();
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    gateway = new BatchJobsView(bus, { groupPrefix: 'gw', keepPartials: false });
    processor = new BatchJobsView(bus, { groupPrefix: 'bp', keepPartials: true });
    await Promise.all([gateway.start(), processor.start()]);
  });
  afterEach(async () => {
    await Promise.all([gateway.stop(), processor.stop()]);
    await bus.close();
  });

  it('submits the queued status before the command, and find() catches up to read it back', async () => {
    const request = { operation: 'process_batch', events: [{ timestamp: 1 }] };
    const jobId = await gateway.submit(request, T0, { jobId: 'j1' });
    expect(jobId).toBe('j1');
    expect(topicLog(bus, INTERNAL_TOPICS.batchJobs)).toEqual([['job/j1', { job_id: 'j1', operation: 'process_batch', status: 'queued', submitted_at: T0 }]]);
    expect(topicLog(bus, INTERNAL_TOPICS.batchCommands)).toEqual([['j1', { job_id: 'j1', request, submitted_at: T0 }]]);
    expect(await gateway.find('j1', 1_000)).toEqual({ job_id: 'j1', operation: 'process_batch', status: 'queued', progress: 0, events_read: 0, submitted_at: T0 });
    expect(await gateway.find('nope', 10)).toBeUndefined();
  });

  it('shows the processor’s task progress and a pending cancel; only the processor keeps partials', async () => {
    await processor.writeStatus(running);
    await processor.writeProgress({ job_id: 'j1', task: 0, progress: 1, events_read: 30, worker: 'w' });
    await processor.writeProgress({ job_id: 'j1', task: 1, progress: 0.5, events_read: 10, worker: 'w' });
    await processor.writePartial({ job_id: 'j1', task: 0, events_read: 30, worker: 'w', partial: { n: 30 } });
    await gateway.requestCancel('j1', T0);
    await Promise.all([gateway.catchUp(1_000), processor.catchUp(1_000)]);
    const shown = { job_id: 'j1', operation: 'process_batch', status: 'running', progress: 0.75, events_read: 40, submitted_at: T0, started_at: T0, tasks: 2, cancel_requested: true };
    expect([gateway.job('j1'), processor.job('j1')]).toEqual([shown, shown]);
    expect([gateway.partial('j1', 0), processor.partial('j1', 0)]).toEqual([undefined, { job_id: 'j1', task: 0, events_read: 30, worker: 'w', partial: { n: 30 } }]);
    expect([processor.cancelRequested('j1'), processor.cancelRequested('j2')]).toEqual([true, false]);
  });

  it('waitForEnd resolves at the terminal status; counts and list read every job', async () => {
    await processor.writeStatus(running);
    await gateway.catchUp(1_000);
    const ended = gateway.waitForEnd('j1', 10_000);
    await processor.writeStatus({ ...running, status: 'succeeded', finished_at: T0, events_read: 40, result: { ok: true } });
    await processor.clearTasks('j1', 2);
    expect(await ended).toEqual({ job_id: 'j1', operation: 'process_batch', status: 'succeeded', progress: 1, events_read: 40, submitted_at: T0, started_at: T0, finished_at: T0, tasks: 2, result: { ok: true } });
    await processor.writeStatus({ job_id: 'j2', operation: 'join', status: 'failed', submitted_at: '2026-12-01T11:00:00.000Z', reason: 'bad' });
    await gateway.catchUp(1_000);
    expect(gateway.list().map((j) => j.job_id)).toEqual(['j2', 'j1']);
    expect(gateway.counts()).toEqual({ jobs: { queued: 0, running: 0, succeeded: 1, failed: 1, cancelled: 0 }, eventsProcessed: 40 });
    expect(await gateway.waitForEnd('j3', 20)).toBeUndefined();
  });

  it('pages the jobs of a status newest first, with the count of all of them and a cursor to the next page', async () => {
    for (const [id, at, status] of [['j1', '10:00', 'succeeded'], ['j2', '10:01', 'failed'], ['j3', '10:02', 'succeeded'], ['j4', '10:03', 'succeeded']] as const) {
      await processor.writeStatus({ job_id: id, operation: 'process_batch', status, submitted_at: `2026-12-01T${at}:00.000Z` });
    }
    await gateway.catchUp(1_000);
    const first = gateway.page({ status: 'succeeded', limit: 2 });
    expect([first.jobs.map((j) => j.job_id), first.count]).toEqual([['j4', 'j3'], 3]);
    expect(first.jobs[0]).toEqual(gateway.job('j4'));
    const second = gateway.page({ status: 'succeeded', limit: 2, after: readJobPageQuery({ cursor: first.next_cursor }).after });
    expect([second.jobs.map((j) => j.job_id), second.count, second.next_cursor]).toEqual([['j1'], 3, null]);
    const all = gateway.page({ limit: 100 });
    expect([all.jobs.map((j) => j.job_id), all.count, all.next_cursor]).toEqual([['j4', 'j3', 'j2', 'j1'], 4, null]);
  });

  it('deletes finished jobs past the retention with tombstones on every key of theirs; running and young jobs stay; a second sweep writes nothing', async () => {
    const HOUR = 3_600_000;
    const now = Date.parse('2026-12-08T12:00:00.000Z');
    const old = '2026-12-01T11:00:00.000Z'; // 169 h before now
    await processor.writeStatus({ job_id: 'done', operation: 'process_batch', status: 'succeeded', submitted_at: old, started_at: old, finished_at: old, tasks: 2, result: { n: 1 } });
    await processor.writeStatus({ job_id: 'gone', operation: 'join', status: 'cancelled', submitted_at: old }); // no finished_at: its submission counts
    await gateway.requestCancel('gone', old);
    await processor.writeStatus({ ...running, job_id: 'slow', submitted_at: old, started_at: old }); // old but still running
    await processor.writeStatus({ job_id: 'young', operation: 'process_batch', status: 'failed', submitted_at: old, finished_at: '2026-12-08T11:00:00.000Z', reason: 'bad' });
    await processor.catchUp(1_000);
    expect(topicLog(bus, INTERNAL_TOPICS.batchJobs).filter(([, v]) => v === null)).toEqual([]);
    expect(await processor.deleteExpired(now, 168 * HOUR)).toEqual(['done', 'gone']);
    const tombstones = topicLog(bus, INTERNAL_TOPICS.batchJobs).filter(([, v]) => v === null); // in partition order
    expect(tombstones.map(([key]) => key).sort()).toEqual(['job/done', 'job/done/cancel', 'job/done/partial/0', 'job/done/partial/1', 'job/done/progress/0', 'job/done/progress/1', 'job/gone', 'job/gone/cancel']);
    await Promise.all([gateway.catchUp(1_000), processor.catchUp(1_000)]);
    expect(gateway.page({ limit: 100 }).jobs.map((j) => j.job_id).sort()).toEqual(['slow', 'young']);
    expect([gateway.job('done'), gateway.cancelRequested('gone'), processor.job('gone')]).toEqual([undefined, false, undefined]);
    // another replica sweeping the same view state again: nothing left to delete, nothing written
    const after = bus.messages(INTERNAL_TOPICS.batchJobs).length;
    expect(await gateway.deleteExpired(now, 168 * HOUR)).toEqual([]);
    expect(bus.messages(INTERNAL_TOPICS.batchJobs).length).toBe(after);
  });
});
