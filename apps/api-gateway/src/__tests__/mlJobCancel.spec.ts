import { INTERNAL_TOPICS, type MlJobStatus } from '@pipeline/contracts';
import { MlJobsView } from '@pipeline/jobs';
import { InMemoryBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { startService, type RunningService } from '@pipeline/service-runtime';
import { httpRequest, waitFor } from '@pipeline/testing';
import { createGateway, readGatewayConfig } from '../index';

const train = (model_name: string) => ({ model_name, model_type: 'kmeans', feature_keys: ['a'], data: [{ a: 1 }, { a: 2 }], params: { nClusters: 1 } });
const CANCELLED = 'training job cancelled on request (DELETE /pipeline/ml/jobs/{job_id})';

/**
 * A gateway on a real HTTP port over an in-memory bus, and a stand-in trainer: a view of
 * pipeline.ml.jobs that writes the job states (and, given `onCancelRequested`, acts on markers).
 */
async function gatewayWithTrainer(syncWaitMs: number, onCancelRequested?: (trainer: MlJobsView, jobId: string) => void) {
  const bus = new InMemoryBus({ defaultPartitions: 3 });
  await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
  const env = { HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent', API_KEYS: 'alice-key:train,bob-key:train,reader-key:read,ops-key', INGEST_URL: 'http://127.0.0.1:9', SYNC_WAIT_MS: String(syncWaitMs) };
  const gateway: RunningService = await startService(createGateway, readGatewayConfig(env, { requireBrokers: false }), bus);
  const trainer: MlJobsView = new MlJobsView(bus, { groupPrefix: 'spec-trainer', ...(onCancelRequested ? { onCancelRequested: (id: string) => onCancelRequested(trainer, id) } : {}) });
  await trainer.start();
  const base = `http://127.0.0.1:${gateway.port}/pipeline`;
  const call = async (key: string, method: string, path: string, body?: unknown) => {
    const r = await httpRequest(`${base}${path}`, { method, headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, json: r.json };
  };
  /** A job alice submitted, which the stand-in trainer then put in `status`. */
  const jobIn = async (status: MlJobStatus['status'], extra: Partial<MlJobStatus> = {}) => {
    const submitted = await call('alice-key', 'POST', '/ml/train', train(`model-${status}`));
    const id = submitted.json.job_id as string;
    await trainer.catchUp(1_000);
    const record: MlJobStatus = { ...trainer.status(id)!, status, ...extra };
    await trainer.write(record);
    return { id, record };
  };
  const markers = () => bus.messages(INTERNAL_TOPICS.mlJobs).filter((m) => m.key?.endsWith('/cancel')).map((m) => [m.key, JSON.parse(m.value.toString()).job_id]);
  const close = async () => {
    await trainer.stop();
    await gateway.stop();
    await bus.close();
  };
  return { call, trainer, jobIn, markers, close };
}

const cancelledOf = (record: MlJobStatus): MlJobStatus => {
  const { phase: _phase, ...rest } = record;
  return { ...rest, status: 'cancelled', error: CANCELLED, error_code: 'job_cancelled', finished_at: record.updated_at };
};

describe('DELETE /pipeline/ml/jobs/{id} (gateway on a real HTTP port, in-memory bus, a stand-in trainer)', () => {
  it('answers 202 with cancel_requested for a running job and writes its cancel marker; GET shows the pending cancel; once the job ended cancelled, cancelling again is 409 job_finished (as for batch jobs)', async () => {
    const g = await gatewayWithTrainer(0);
    try {
      const { id, record } = await g.jobIn('running', { progress: 0.5, phase: 'training' });
      expect(await g.call('alice-key', 'DELETE', `/ml/jobs/${id}`)).toEqual({ status: 202, json: { ...record, cancel_requested: true } });
      expect(g.markers()).toEqual([[`${id}/cancel`, id]]);
      expect(await g.call('alice-key', 'GET', `/ml/jobs/${id}`)).toEqual({ status: 200, json: { ...record, cancel_requested: true } });
      await g.trainer.write(cancelledOf(record));
      await waitFor(async () => (await g.call('alice-key', 'GET', `/ml/jobs/${id}`)).json.status === 'cancelled', { timeoutMs: 5_000, what: 'the gateway to read the cancelled state' });
      expect(await g.call('alice-key', 'DELETE', `/ml/jobs/${id}`)).toEqual({
        status: 409,
        json: { error: { code: 'job_finished', message: `training job ${id} already cancelled; only queued or running jobs can be cancelled` } },
      });
      expect(g.markers()).toEqual([[`${id}/cancel`, id]]);
    } finally {
      await g.close();
    }
  });

  it('answers 200 with the cancelled job when the trainer ends it within SYNC_WAIT_MS', async () => {
    const g = await gatewayWithTrainer(10_000, (trainer, jobId) => void trainer.write(cancelledOf(trainer.status(jobId)!)));
    try {
      const { id, record } = await g.jobIn('running', { progress: 0.5, phase: 'training' });
      expect(await g.call('alice-key', 'DELETE', `/ml/jobs/${id}`)).toEqual({ status: 200, json: cancelledOf(record) });
    } finally {
      await g.close();
    }
  });

  it('answers 409 job_finished for a job that succeeded or failed, and writes no marker', async () => {
    const g = await gatewayWithTrainer(0);
    try {
      for (const status of ['succeeded', 'failed'] as const) {
        const { id } = await g.jobIn(status, { progress: 1, finished_at: '2026-12-01T10:00:00.000Z' });
        expect(await g.call('alice-key', 'DELETE', `/ml/jobs/${id}`)).toEqual({
          status: 409,
          json: { error: { code: 'job_finished', message: `training job ${id} already ${status}; only queued or running jobs can be cancelled` } },
        });
      }
      expect(g.markers()).toEqual([]);
    } finally {
      await g.close();
    }
  });

  it("answers 404 for an unknown job and for another key's job (writing no marker), 403 to a key without the train scope; an admin key may cancel any job", async () => {
    const g = await gatewayWithTrainer(0);
    try {
      const { id } = await g.jobIn('queued');
      expect(await g.call('alice-key', 'DELETE', '/ml/jobs/no-such-job')).toEqual({ status: 404, json: { error: { code: 'job_not_found', message: 'no training job with id "no-such-job"' } } });
      expect(await g.call('bob-key', 'DELETE', `/ml/jobs/${id}`)).toEqual({ status: 404, json: { error: { code: 'job_not_found', message: `no training job with id "${id}"` } } });
      expect(await g.call('reader-key', 'DELETE', `/ml/jobs/${id}`)).toEqual({ status: 403, json: { error: { code: 'forbidden', message: `this API key lacks the "train" scope that DELETE /pipeline/ml/jobs/${id} needs` } } });
      expect(g.markers()).toEqual([]);
      const byAdmin = await g.call('ops-key', 'DELETE', `/ml/jobs/${id}`);
      expect([byAdmin.status, byAdmin.json.status, byAdmin.json.cancel_requested]).toEqual([202, 'queued', true]);
      expect(g.markers()).toEqual([[`${id}/cancel`, id]]);
    } finally {
      await g.close();
    }
  });
});
