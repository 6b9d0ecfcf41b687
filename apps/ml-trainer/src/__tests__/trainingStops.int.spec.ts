import type { MlJobStatus } from '@pipeline/contracts';
import { pipelineTopicSpecs, type EventBus } from '@pipeline/kafka';
import { startService, type RunningService } from '@pipeline/service-runtime';
import { createTestBus, httpRequest, kafkaBrokers, seededRandom, spawnApp, threadsOf, uniqueName, waitFor, type AppProcess } from '@pipeline/testing';
import { createGateway, readGatewayConfig } from '../../../api-gateway/src/index';

jest.setTimeout(240_000);

const del = (url: string) => httpRequest(url, { method: 'DELETE' });
const post = (url: string, body?: unknown) => httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
/** Worker threads of a process: ml-trainer runs each training in one (Node names them "WorkerThread"). */
const workerThreads = (pid: number) => threadsOf(pid).filter((t) => t.comm === 'WorkerThread').length;

/**
 * A random forest at the request caps (1,000 trees of depth 32) on 5,000 noisy rows: tens of seconds
 * of training on one core, so it is surely still training when it is cancelled or times out.
 */
function bigForest(modelName: string) {
  const rand = seededRandom(21);
  const r3 = () => Math.round(rand() * 1000) / 1000;
  const data = Array.from({ length: 5_000 }, () => {
    const [a, b, c, d] = [r3(), r3(), r3(), r3()];
    return { a, b, c, d, y: Math.round((3 * a - b + Math.sin(10 * c) + d * d + rand() / 10) * 1000) / 1000 };
  });
  return { model_name: modelName, model_type: 'random_forest', feature_keys: ['a', 'b', 'c', 'd'], target_key: 'y', data, params: { nEstimators: 1_000, maxDepth: 32 } };
}
/** A job of the same model (so on the same commands partition, behind the big one) that trains in milliseconds. */
const smallForest = (modelName: string) => ({
  model_name: modelName,
  model_type: 'random_forest',
  feature_keys: ['a'],
  target_key: 'y',
  data: Array.from({ length: 20 }, (_, i) => ({ a: i, y: 2 * i })),
  params: { nEstimators: 3, maxDepth: 3 },
});

describe('stopping training jobs on a real broker (ml-trainer process with its training worker, gateway in-process)', () => {
  let bus: EventBus;
  let gatewayBus: EventBus;
  let gateway: RunningService;
  let trainer: AppProcess | undefined;
  let url: string;
  const group = uniqueName('it-trainer-stops');
  let cancelledJob: MlJobStatus | undefined;

  const job = async (id: string) => (await httpRequest(`${url}/pipeline/ml/jobs/${id}`)).json as MlJobStatus;
  const ended = (id: string): Promise<MlJobStatus> =>
    waitFor<MlJobStatus | undefined>(
      async () => {
        const j = await job(id);
        return ['succeeded', 'failed', 'cancelled'].includes(j.status) ? j : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 200, what: `job ${id} to end` },
    ) as Promise<MlJobStatus>;
  const submit = async (body: unknown) => {
    const res = await post(`${url}/pipeline/ml/train`, body);
    expect([res.status, res.json.status]).toEqual([202, 'queued']);
    return res.json.job_id as string;
  };
  const startTrainer = async (env: Record<string, string> = {}) => {
    trainer = await spawnApp('ml-trainer', { ML_TRAINER_GROUP_ID: group, ML_PROGRESS_INTERVAL_MS: '100', ...env });
    await trainer.ready(90_000);
    return trainer;
  };

  beforeAll(async () => {
    bus = createTestBus({ brokers: kafkaBrokers(), clientId: 'training-stops-it' });
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    gatewayBus = createTestBus({ brokers: kafkaBrokers(), clientId: 'training-stops-it-gateway' });
    // SYNC_WAIT_MS: the cancel answers once the trainer has ended the job (200), not 202
    gateway = await startService(createGateway, readGatewayConfig({ KAFKA_BROKERS: kafkaBrokers().join(','), HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent', SYNC_WAIT_MS: '30000' }), gatewayBus);
    url = `http://127.0.0.1:${gateway.port}`;
  });
  afterAll(async () => {
    await gateway?.stop();
    await gatewayBus?.close();
    await trainer?.kill('SIGTERM');
    await bus?.close();
  });

  it('cancels a running job: the trainer terminates its training worker, the job ends cancelled, and the trainer then runs the next job', async () => {
    const { pid } = await startTrainer();
    const idle = workerThreads(pid);
    const model = uniqueName('it-cancel-forest');
    const big = await submit(bigForest(model));
    const next = await submit(smallForest(model));
    await waitFor(async () => ((j) => j.phase === 'training' && j.progress > 0.3)(await job(big)), { timeoutMs: 90_000, intervalMs: 100, what: 'the big forest to be training in its worker' });
    expect(workerThreads(pid)).toBe(idle + 1);
    const cancel = await del(`${url}/pipeline/ml/jobs/${big}`);
    cancelledJob = cancel.json as MlJobStatus;
    expect([cancel.status, cancelledJob.status, cancelledJob.error_code, cancelledJob.error, cancelledJob.model_version]).toEqual([
      200,
      'cancelled',
      'job_cancelled',
      'training job cancelled on request (DELETE /pipeline/ml/jobs/{job_id})',
      undefined,
    ]);
    await waitFor(() => workerThreads(pid) === idle, { timeoutMs: 10_000, what: 'the training worker thread to end' });
    const after = await ended(next);
    expect([after.status, after.error, after.model_version]).toEqual(['succeeded', undefined, 1]);
    expect(await del(`${url}/pipeline/ml/jobs/${next}`)).toMatchObject({ status: 409, json: { error: { code: 'job_finished' } } });
  });

  it('fails a job that runs longer than ML_JOB_TIMEOUT_MS with job_timeout and runs the next job; the cancelled job was not run again by the restarted trainer', async () => {
    await trainer!.kill('SIGTERM');
    const { pid } = await startTrainer({ ML_JOB_TIMEOUT_MS: '3000' });
    const idle = workerThreads(pid);
    const model = uniqueName('it-timeout-forest');
    const big = await submit(bigForest(model));
    const next = await submit(smallForest(model));
    const timedOut = await ended(big);
    expect([timedOut.status, timedOut.error_code, timedOut.error, timedOut.model_version]).toEqual(['failed', 'job_timeout', 'training job did not finish within 3000 ms (ML_JOB_TIMEOUT_MS) and was stopped', undefined]);
    expect(timedOut.duration_seconds).toBeGreaterThanOrEqual(3);
    const after = await ended(next);
    expect([after.status, after.error, after.model_version]).toEqual(['succeeded', undefined, 1]);
    await waitFor(() => workerThreads(pid) === idle, { timeoutMs: 10_000, what: 'no training worker thread left' });
    expect(await job(cancelledJob!.job_id)).toEqual(cancelledJob);
  });
});
