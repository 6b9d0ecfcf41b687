import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INTERNAL_TOPICS, type MlJobCommand, type MlJobStatus } from '@pipeline/contracts';
import { MlJobsView } from '@pipeline/jobs';
import { InMemoryBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { ModelRegistryView, parseVerifyKeys } from '@pipeline/model-registry';
import { ServiceMetrics, startService } from '@pipeline/service-runtime';
import { waitFor } from '@pipeline/testing';
import { readTrainerConfig } from './config';
import { createInlineRunner } from './createInlineRunner';
import { createTrainer } from './trainerService';
import type { TrainingRunner } from './TrainingRunner';

const rows = Array.from({ length: 40 }, (_, i) => ({ a: i % 8, b: Math.floor(i / 8), y: 2 * (i % 8) - Math.floor(i / 8) + 1 }));

/**
 * Trains inline, except the jobs whose id starts with "endless": those never finish by themselves
 * (like a worker on a huge forest) and reject with the stop's reason, as the worker runner does when
 * it terminates its worker. `calls` counts trainings started per job id.
 */
function runnerWithEndlessJobs() {
  const inline = createInlineRunner();
  const calls = new Map<string, number>();
  const stopped: string[] = [];
  const runner: TrainingRunner = {
    train(request, onProgress, signal) {
      const jobId = String((request.source as { job_id?: string } | undefined)?.job_id);
      calls.set(jobId, (calls.get(jobId) ?? 0) + 1);
      if (!jobId.startsWith('endless')) return inline.train(request, onProgress, signal);
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => (stopped.push(`${jobId}: ${(signal.reason as Error).message}`), reject(signal.reason)), { once: true }));
    },
  };
  return { runner, calls, stopped };
}

/** A trainer on an in-memory bus with `env`, and a gateway's view of the jobs to submit and cancel them. */
async function trainerWithGatewayView(env: Record<string, string>, runner: TrainingRunner) {
  const bus = new InMemoryBus({ defaultPartitions: 3 });
  await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
  const metrics = new ServiceMetrics('ml-trainer');
  const config = readTrainerConfig({ HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env }, { requireBrokers: false });
  let trainer = await startService(createTrainer({ runner }), config, bus, { metrics });
  /** Stops the trainer and starts another in its consumer group: it reads the commands from the group's committed offsets. */
  const restart = async () => {
    await trainer.stop();
    trainer = await startService(createTrainer({ runner }), config, bus, { metrics: new ServiceMetrics('ml-trainer') });
  };
  const gateway = new MlJobsView(bus, { groupPrefix: 'spec-gateway' });
  await gateway.start();
  const submit = (jobId: string) => gateway.submit({ model_name: 'lin', model_type: 'linear_regression', feature_keys: ['a', 'b'], target_key: 'y', data: rows } as never, new Date().toISOString(), { jobId });
  const statusOf = async (jobId: string) => (await gateway.catchUp(), gateway.status(jobId));
  const close = async () => {
    await gateway.stop();
    await trainer.stop();
    await bus.close();
  };
  return { bus, metrics, gateway, submit, statusOf, restart, close };
}

describe('ml-trainer service', () => {
  it('keeps the newest ML_REGISTRY_KEEP_VERSIONS versions of a model in the registry and withdraws the older ones', async () => {
    const bus = new InMemoryBus({ defaultPartitions: 3 });
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const config = readTrainerConfig({ HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'silent', ML_REGISTRY_KEEP_VERSIONS: '2' }, { requireBrokers: false });
    const metrics = new ServiceMetrics('ml-trainer');
    const trainer = await startService(createTrainer({ runner: createInlineRunner() }), config, bus, { metrics });
    const registry = new ModelRegistryView(bus, { topic: INTERNAL_TOPICS.mlModels, groupPrefix: 'spec' });
    const removed: number[] = [];
    registry.onRemoved((_name, version) => removed.push(version));
    await registry.start();
    try {
      const submit = async (jobId: string, name: string) => {
        const command: MlJobCommand = { job_id: jobId, request: { model_name: name, model_type: 'linear_regression', feature_keys: ['a', 'b'], target_key: 'y', data: rows } as never, submitted_at: new Date().toISOString() };
        await bus.publish({ topic: INTERNAL_TOPICS.mlCommands, key: name, value: JSON.stringify(command) });
      };
      const succeeded = () =>
        new Set(
          bus
            .messages(INTERNAL_TOPICS.mlJobs)
            .map((m) => JSON.parse(m.value.toString()) as MlJobStatus)
            .filter((s) => s.status === 'succeeded')
            .map((s) => s.job_id),
        );
      for (let i = 1; i <= 4; i++) await submit(`lin-${i}`, 'lin');
      await submit('other-1', 'other');
      await waitFor(() => succeeded().size === 5, { timeoutMs: 20_000, what: '5 jobs succeeded' });
      await waitFor(async () => (await registry.catchUp(), registry.list().length === 3), { timeoutMs: 5_000, what: 'registry pruned' });
      expect(registry.list().map((m) => `${m.manifest.name}/${m.manifest.version}`)).toEqual(['lin/3', 'lin/4', 'other/1']);
      expect(removed.sort()).toEqual([1, 2]);
      expect(registry.keysOf('lin').every((k) => k.version >= 3)).toBe(true);
      expect(await metrics.registry.getSingleMetricAsString('pipeline_ml_registry_versions_withdrawn_total')).toMatch(/_total\{[^}]*\} 2$/m);
      // The next version number continues after the kept ones.
      await submit('lin-5', 'lin');
      await waitFor(() => succeeded().has('lin-5'), { timeoutMs: 20_000, what: 'job lin-5' });
      await waitFor(async () => (await registry.catchUp(), registry.get('lin', 3) === undefined), { timeoutMs: 5_000, what: 'version 3 withdrawn' });
      expect(registry.list().map((m) => `${m.manifest.name}/${m.manifest.version}`)).toEqual(['lin/4', 'lin/5', 'other/1']);
    } finally {
      await registry.stop();
      await trainer.stop();
      await bus.close();
    }
  });

  it('signs every version it publishes with the ML_SIGNING_KEY_FILE key, so a predictor trusting its public key serves it', async () => {
    const key = generateKeyPairSync('ed25519');
    const dir = mkdtempSync(join(tmpdir(), 'signing-key-'));
    writeFileSync(join(dir, 'trainer.pem'), key.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const bus = new InMemoryBus({ defaultPartitions: 3 });
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const config = readTrainerConfig({ HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'silent', ML_SIGNING_KEY_FILE: join(dir, 'trainer.pem') }, { requireBrokers: false });
    const trainer = await startService(createTrainer({ runner: createInlineRunner() }), config, bus);
    const rejected: string[] = [];
    const verifyKeys = parseVerifyKeys(String(key.publicKey.export({ type: 'spki', format: 'pem' })), 'test');
    const registry = new ModelRegistryView(bus, { topic: INTERNAL_TOPICS.mlModels, groupPrefix: 'spec-signed', verifyKeys, onRejected: (n, v, r) => rejected.push(`${n}/${v}: ${r}`) });
    await registry.start();
    try {
      const command: MlJobCommand = { job_id: 'signed-1', request: { model_name: 'signed', model_type: 'linear_regression', feature_keys: ['a', 'b'], target_key: 'y', data: rows } as never, submitted_at: new Date().toISOString() };
      await bus.publish({ topic: INTERNAL_TOPICS.mlCommands, key: 'signed', value: JSON.stringify(command) });
      await waitFor(async () => (await registry.catchUp(), registry.get('signed') !== undefined), { timeoutMs: 20_000, what: 'signed/1 verified' });
      expect(rejected).toEqual([]);
    } finally {
      await registry.stop();
      await trainer.stop();
      await bus.close();
    }
  });

  it('stops a running job on its cancel marker and ends it cancelled, then runs the next job of the partition; the cancelled job is not run again', async () => {
    const { runner, calls, stopped } = runnerWithEndlessJobs();
    const t = await trainerWithGatewayView({}, runner);
    try {
      await t.submit('endless-1');
      await t.submit('next-1'); // same model, so the same partition: handled only once endless-1 has ended
      await waitFor(async () => (await t.statusOf('endless-1'))?.phase === 'training', { timeoutMs: 10_000, what: 'endless-1 training' });
      await t.gateway.requestCancel('endless-1', new Date().toISOString());
      await waitFor(async () => (await t.statusOf('next-1'))?.status === 'succeeded', { timeoutMs: 10_000, what: 'next-1 succeeded' });
      const cancelled = await t.statusOf('endless-1');
      const message = 'training job cancelled on request (DELETE /pipeline/ml/jobs/{job_id})';
      expect([cancelled?.status, cancelled?.error, cancelled?.error_code]).toEqual(['cancelled', message, 'job_cancelled']);
      expect([stopped, Object.fromEntries(calls)]).toEqual([[`endless-1: ${message}`], { 'endless-1': 1, 'next-1': 1 }]);
      expect(await t.metrics.registry.getSingleMetricAsString('pipeline_ml_training_jobs_total')).toMatch(/^pipeline_ml_training_jobs_total\{model_type="linear_regression",status="cancelled"[^}]*\} 1$/m);
    } finally {
      await t.close();
    }
  });

  it('ends a job cancelled before the trainer reached it as cancelled without training it', async () => {
    const { runner, calls } = runnerWithEndlessJobs();
    const t = await trainerWithGatewayView({}, runner);
    try {
      await t.submit('endless-2');
      await t.submit('queued-2'); // waits behind endless-2 on its partition
      await waitFor(async () => (await t.statusOf('endless-2'))?.phase === 'training', { timeoutMs: 10_000, what: 'endless-2 training' });
      await t.gateway.requestCancel('queued-2', new Date().toISOString());
      await t.gateway.requestCancel('endless-2', new Date().toISOString());
      await waitFor(async () => (await t.statusOf('queued-2'))?.status === 'cancelled', { timeoutMs: 10_000, what: 'queued-2 cancelled' });
      expect([(await t.statusOf('endless-2'))?.status, Object.fromEntries(calls)]).toEqual(['cancelled', { 'endless-2': 1 }]);
      expect(t.bus.messages(INTERNAL_TOPICS.mlJobs).filter((m) => m.key === 'queued-2').map((m) => (JSON.parse(m.value.toString()) as MlJobStatus).status)).toEqual(['queued', 'cancelled']);
    } finally {
      await t.close();
    }
  });

  it('stops a job that runs longer than ML_JOB_TIMEOUT_MS and ends it failed with code job_timeout, then runs the next job of the partition; the timed-out job is not run again, after a restart either', async () => {
    const { runner, calls, stopped } = runnerWithEndlessJobs();
    const t = await trainerWithGatewayView({ ML_JOB_TIMEOUT_MS: '1000' }, runner);
    try {
      await t.submit('endless-3');
      await t.submit('next-3');
      await waitFor(async () => (await t.statusOf('next-3'))?.status === 'succeeded', { timeoutMs: 10_000, what: 'next-3 succeeded' });
      const failed = await t.statusOf('endless-3');
      const error = 'training job did not finish within 1000 ms (ML_JOB_TIMEOUT_MS) and was stopped';
      expect([failed?.status, failed?.error, failed?.error_code]).toEqual(['failed', error, 'job_timeout']);
      expect([stopped, Object.fromEntries(calls)]).toEqual([[`endless-3: ${error}`], { 'endless-3': 1, 'next-3': 1 }]);
      await t.restart();
      await t.submit('after-restart-3');
      await waitFor(async () => (await t.statusOf('after-restart-3'))?.status === 'succeeded', { timeoutMs: 10_000, what: 'after-restart-3 succeeded' });
      expect(Object.fromEntries(calls)).toEqual({ 'endless-3': 1, 'next-3': 1, 'after-restart-3': 1 });
    } finally {
      await t.close();
    }
  });

  it('stops start-up naming ML_JOB_TIMEOUT_MS when it is not a whole number of ms in [1000, 2147483647]', () => {
    const read = (v: string) => () => readTrainerConfig({ ML_JOB_TIMEOUT_MS: v }, { requireBrokers: false });
    expect(readTrainerConfig({}, { requireBrokers: false }).jobTimeoutMs).toBe(1_800_000);
    expect(read('999')).toThrow('ML_JOB_TIMEOUT_MS must be ≥ 1000, got 999');
    expect(read('2147483648')).toThrow('ML_JOB_TIMEOUT_MS must be ≤ 2147483647, got 2147483648');
    expect(read('30m')).toThrow('ML_JOB_TIMEOUT_MS must be an integer, got "30m"');
  });

  it('stops start-up naming ML_SIGNING_KEY_FILE when it is not an Ed25519 private key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'signing-key-'));
    writeFileSync(join(dir, 'public.pem'), generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    expect(() => readTrainerConfig({ ML_SIGNING_KEY_FILE: join(dir, 'public.pem') }, { requireBrokers: false })).toThrow(
      new RegExp(`^ML_SIGNING_KEY_FILE \\(${join(dir, 'public.pem').replace(/[.]/g, '\\.')}\\) must hold a PEM Ed25519 private key \\(PKCS#8, unencrypted\\): `),
    );
  });
});
