import { INTERNAL_TOPICS, type BatchJobRecord } from '@pipeline/contracts';
import { InMemoryBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { BatchJobsView } from './BatchJobsView';
import { MlJobsView } from './MlJobsView';

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
    const jobId = await gateway.submit(request, T0, 'j1');
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
});

describe('MlJobsView (pipeline.ml.jobs, in-memory bus)', () => {
  it('submits the queued status before the command keyed by model name, and reads the latest status back', async () => {
    const bus = new InMemoryBus();
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const view = new MlJobsView(bus, { groupPrefix: 'ml' });
    await view.start();
    const request = { model_name: 'm', model_type: 'kmeans', features: ['a'] } as never;
    await view.submit(request, T0, 'j1');
    const queued = { job_id: 'j1', status: 'queued', progress: 0, model_name: 'm', model_type: 'kmeans', submitted_at: T0, updated_at: T0 };
    expect(topicLog(bus, INTERNAL_TOPICS.mlJobs)).toEqual([['j1', queued]]);
    expect(topicLog(bus, INTERNAL_TOPICS.mlCommands)).toEqual([['m', { job_id: 'j1', request, submitted_at: T0 }]]);
    expect(await view.find('j1', 1_000)).toEqual(queued);
    await view.write({ ...queued, status: 'running', progress: 0.5 });
    await view.catchUp(1_000);
    expect(view.get('j1')).toEqual({ ...queued, status: 'running', progress: 0.5 });
    await view.stop();
    await bus.close();
  });
});
