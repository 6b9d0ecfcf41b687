import { INTERNAL_TOPICS, type MlJobStatus } from '@pipeline/contracts';
import { InMemoryBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { MlJobsView } from './MlJobsView';

const T0 = '2026-12-01T10:00:00.000Z';
const topicLog = (bus: InMemoryBus, topic: string) => bus.messages(topic).map((m) => [m.key, m.value.length === 0 ? null : JSON.parse(m.value.toString())]);

describe('MlJobsView (pipeline.ml.jobs, in-memory bus)', () => {
  it('submits the queued status before the command keyed by model name, and reads the latest status back', async () => {
    const bus = new InMemoryBus();
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const view = new MlJobsView(bus, { groupPrefix: 'ml' });
    await view.start();
    const request = { model_name: 'm', model_type: 'kmeans', features: ['a'] } as never;
    await view.submit(request, T0, { jobId: 'j1' });
    const queued = { job_id: 'j1', status: 'queued', progress: 0, model_name: 'm', model_type: 'kmeans', submitted_at: T0, updated_at: T0 };
    expect(topicLog(bus, INTERNAL_TOPICS.mlJobs)).toEqual([['j1', queued]]);
    expect(topicLog(bus, INTERNAL_TOPICS.mlCommands)).toEqual([['m', { job_id: 'j1', request, submitted_at: T0 }]]);
    expect(await view.find('j1', 1_000)).toEqual(queued);
    await view.write({ ...queued, status: 'running', progress: 0.5 });
    await view.catchUp(1_000);
    expect(view.status('j1')).toEqual({ ...queued, status: 'running', progress: 0.5 });
    await view.stop();
    await bus.close();
  });

  it('deletes succeeded and failed jobs past the retention (finished_at, else updated_at) with a tombstone each; queued and running jobs stay', async () => {
    const bus = new InMemoryBus();
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const view = new MlJobsView(bus, { groupPrefix: 'ml' });
    await view.start();
    const old = '2026-12-01T11:00:00.000Z';
    const base = { progress: 1, model_name: 'm', model_type: 'kmeans', submitted_at: old, updated_at: old };
    await view.write({ ...base, job_id: 'ok', status: 'succeeded', finished_at: old });
    await view.write({ ...base, job_id: 'bad', status: 'failed' });
    await view.write({ ...base, job_id: 'young', status: 'succeeded', finished_at: '2026-12-08T11:00:00.000Z', updated_at: '2026-12-08T11:00:00.000Z' });
    await view.write({ ...base, job_id: 'waiting', status: 'queued', progress: 0 });
    await view.catchUp(1_000);
    expect(await view.deleteExpired(Date.parse('2026-12-08T12:00:00.000Z'), 168 * 3_600_000)).toEqual(['bad', 'ok']);
    expect(topicLog(bus, INTERNAL_TOPICS.mlJobs).filter(([, v]) => v === null).sort()).toEqual([['bad', null], ['bad/cancel', null], ['ok', null], ['ok/cancel', null]]);
    await view.catchUp(1_000);
    expect([view.status('ok'), view.status('bad'), view.status('young')?.status, view.status('waiting')?.status]).toEqual([undefined, undefined, 'succeeded', 'queued']);
    expect(await view.deleteExpired(Date.parse('2026-12-08T12:00:00.000Z'), 168 * 3_600_000)).toEqual([]);
    await view.stop();
    await bus.close();
  });

  it('reads a cancel marker at <id>/cancel as a pending cancel of the job: shown as cancel_requested until the job ends, announced to onCancelRequested, never taken for a status', async () => {
    const bus = new InMemoryBus();
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const announced: string[] = [];
    const gateway = new MlJobsView(bus, { groupPrefix: 'gw' });
    const trainer = new MlJobsView(bus, { groupPrefix: 'tr', onCancelRequested: (id) => announced.push(id) });
    await Promise.all([gateway.start(), trainer.start()]);
    const running: MlJobStatus = { job_id: 'j1', status: 'running', progress: 0.5, model_name: 'm', model_type: 'kmeans', submitted_at: T0, updated_at: T0 };
    await gateway.write(running);
    await gateway.requestCancel('j1', '2026-12-01T10:00:05.000Z');
    expect(topicLog(bus, INTERNAL_TOPICS.mlJobs)).toEqual([
      ['j1', running],
      ['j1/cancel', { job_id: 'j1', requested_at: '2026-12-01T10:00:05.000Z' }],
    ]);
    await Promise.all([gateway.catchUp(1_000), trainer.catchUp(1_000)]);
    expect([announced, trainer.cancelRequested('j1'), trainer.cancelRequested('j2')]).toEqual([['j1'], true, false]);
    expect(gateway.job('j1')).toEqual({ ...running, cancel_requested: true });
    expect([gateway.status('j1'), gateway.status('j1/cancel'), await gateway.find('j1/cancel', 0), [...gateway.statuses()]]).toEqual([running, undefined, undefined, [running]]);
    const cancelled: MlJobStatus = { ...running, status: 'cancelled', error: 'cancelled', error_code: 'job_cancelled', finished_at: T0 };
    await trainer.write(cancelled);
    await gateway.catchUp(1_000);
    expect(gateway.job('j1')).toEqual(cancelled);
    await Promise.all([gateway.stop(), trainer.stop()]);
    await bus.close();
  });

  it('waitForEnd resolves with the job as soon as it ends, or with its latest state after the timeout', async () => {
    const bus = new InMemoryBus();
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const view = new MlJobsView(bus, { groupPrefix: 'gw' });
    await view.start();
    const running: MlJobStatus = { job_id: 'j1', status: 'running', progress: 0.5, model_name: 'm', model_type: 'kmeans', submitted_at: T0, updated_at: T0 };
    await view.write(running);
    await view.catchUp(1_000);
    expect(await view.waitForEnd('j1', 20)).toEqual(running);
    const ended = view.waitForEnd('j1', 60_000);
    const failed: MlJobStatus = { ...running, status: 'failed', error: 'x', finished_at: T0 };
    await view.write(failed);
    expect(await ended).toEqual(failed);
    await view.stop();
    await bus.close();
  });

  it('deletes a cancelled job past the retention with its cancel marker', async () => {
    const bus = new InMemoryBus();
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const view = new MlJobsView(bus, { groupPrefix: 'ml' });
    await view.start();
    const old = '2026-12-01T11:00:00.000Z';
    await view.write({ job_id: 'c', status: 'cancelled', progress: 0.4, model_name: 'm', model_type: 'kmeans', submitted_at: old, updated_at: old, finished_at: old });
    await view.requestCancel('c', old);
    await view.catchUp(1_000);
    expect(await view.deleteExpired(Date.parse('2026-12-08T12:00:00.000Z'), 168 * 3_600_000)).toEqual(['c']);
    await view.catchUp(1_000);
    expect([view.status('c'), view.cancelRequested('c'), view.size]).toEqual([undefined, false, 0]);
    await view.stop();
    await bus.close();
  });
});
