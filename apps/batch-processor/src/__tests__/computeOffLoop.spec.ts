import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { INTERNAL_TOPICS, parseBatchJobKey, type BatchJobRecord } from '@pipeline/contracts';
import { detectAnomalies } from '@pipeline/batch';
import { InMemoryBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { startService, type RunningService } from '@pipeline/service-runtime';
import { httpRequest, tsWorkerSource, waitFor } from '@pipeline/testing';
import { batchProcessorFactory, readBatchProcessorConfig } from '../index';

jest.setTimeout(60_000);

/** compute.worker.ts run from its source as an eval worker (no bundling). */
const workerCode = tsWorkerSource(join(__dirname, '..', 'compute.worker.ts'));
const RUNNING = 'pipeline_batch_computations_running{service="batch-processor"}';

describe('batch-processor computes off its event loop (compute worker, in-memory bus)', () => {
  const bus = new InMemoryBus({ defaultPartitions: 3, retryDelayMs: 10 });
  let service: RunningService;
  let url: string;

  beforeAll(async () => {
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const config = readBatchProcessorConfig({ HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent', BATCH_WATCHDOG_INTERVAL_MS: '50' }, { requireBrokers: false });
    service = await startService(batchProcessorFactory({ spawnComputeWorker: () => new Worker(workerCode, { eval: true }) }), config, bus);
    url = `http://127.0.0.1:${service.port}`;
  });
  afterAll(async () => {
    await service.stop();
    await bus.close();
  });

  const lastStatus = (jobId: string): BatchJobRecord | undefined =>
    bus
      .messages(INTERNAL_TOPICS.batchJobs)
      .filter((m) => m.key !== null && m.value.length > 0 && parseBatchJobKey(m.key)?.kind === 'status' && parseBatchJobKey(m.key)?.jobId === jobId)
      .map((m) => JSON.parse(m.value.toString()) as BatchJobRecord)
      .at(-1);

  it('answers /metrics and /healthz while a large inline job computes, then finishes it with the direct function’s result', async () => {
    // Ungrouped anomaly detection over 400,000 events: seconds of scoring on one thread.
    const events = Array.from({ length: 400_000 }, (_, i) => ({ timestamp: i, value: (i * 7919) % 1000 === 0 ? 10_000 : (i % 13) - 6 }));
    const request = { operation: 'detect_anomalies', threshold_std: 3, events };
    await bus.publish({ topic: INTERNAL_TOPICS.batchCommands, key: 'big', value: JSON.stringify({ job_id: 'big', request, submitted_at: new Date().toISOString() }) });
    // /metrics is served while the computation runs: its own exposition says one is running, and the job is not done
    const during = await waitFor(
      async () => {
        const metrics = (await httpRequest(`${url}/metrics`)).text;
        const healthz = await httpRequest(`${url}/healthz`);
        return metrics.includes(`${RUNNING} 1\n`) ? { healthz: healthz.status, job: lastStatus('big')?.status } : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 20, what: '/metrics served during the computation' },
    );
    expect(during).toEqual({ healthz: 200, job: 'running' });
    const done = await waitFor(async () => (lastStatus('big')?.status === 'succeeded' ? lastStatus('big') : undefined), { timeoutMs: 30_000, what: 'job succeeded' });
    expect(done!.events_read).toBe(400_000);
    expect(done!.result).toEqual(JSON.parse(JSON.stringify(detectAnomalies(events, { thresholdStd: 3 }))));
    expect((await httpRequest(`${url}/metrics`)).text).toContain(`${RUNNING} 0\n`);
  });

  it('fails a job whose events the worker refuses, with the message naming the field (a BatchInputError across the thread)', async () => {
    const request = { operation: 'join', join_key: 'k', left: [{ k: { a: 1 } }], right: [{ k: 1 }] };
    await bus.publish({ topic: INTERNAL_TOPICS.batchCommands, key: 'bad', value: JSON.stringify({ job_id: 'bad', request, submitted_at: new Date().toISOString() }) });
    const done = await waitFor(async () => (['succeeded', 'failed'].includes(lastStatus('bad')?.status ?? '') ? lastStatus('bad') : undefined), { timeoutMs: 10_000, what: 'job ended' });
    expect({ status: done!.status, reason: done!.reason }).toEqual({ status: 'failed', reason: 'left[0].k must be a string, a finite number or a boolean, got {"a":1}' });
  });
});
