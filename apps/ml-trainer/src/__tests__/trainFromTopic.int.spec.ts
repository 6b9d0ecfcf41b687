import type { MlJobStatus } from '@pipeline/contracts';
import { pipelineTopicSpecs, type EventBus } from '@pipeline/kafka';
import { startService, type RunningService } from '@pipeline/service-runtime';
import { createTestBus, httpRequest, kafkaBrokers, spawnApp, uniqueName, waitFor, type AppProcess } from '@pipeline/testing';
import { createGateway, readGatewayConfig } from '../../../api-gateway/src/index';

jest.setTimeout(180_000);

const post = (url: string, body: unknown) => httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('training from a shared topic range on a real broker (ml-trainer process, gateway in-process)', () => {
  let bus: EventBus;
  let gatewayBus: EventBus;
  let gateway: RunningService;
  let trainer: AppProcess;
  let url: string;
  // a private stretch of event time on events.devices, within the broker's 7-day retention
  const base = Date.now() - 3 * 3_600_000 - Math.floor(Math.random() * 3_600_000);
  const device = (reading: string, value: unknown, a: unknown, b: number) => ({ device_id: 'it-d', reading, value, attributes: { a, b } });

  beforeAll(async () => {
    bus = createTestBus({ brokers: kafkaBrokers(), clientId: 'train-topic-it' });
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    trainer = await spawnApp('ml-trainer', { ML_TRAINER_GROUP_ID: uniqueName('it-trainer-range'), ML_PROGRESS_INTERVAL_MS: '100' });
    await trainer.ready(90_000);
    gatewayBus = createTestBus({ brokers: kafkaBrokers(), clientId: 'train-topic-it-gateway' });
    gateway = await startService(createGateway, readGatewayConfig({ KAFKA_BROKERS: kafkaBrokers().join(','), HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent' }), gatewayBus);
    url = `http://127.0.0.1:${gateway.port}`;
    // 60 "load" readings with value = 2a − b + 1, 30 "humidity" readings (noise), one load reading whose value is "abc", one record that is not JSON
    const payloads = [
      ...Array.from({ length: 60 }, (_, i) => device('load', 2 * (i % 10) - Math.floor(i / 10) + 1, i % 10, Math.floor(i / 10))),
      ...Array.from({ length: 30 }, (_, i) => device('humidity', 50 + i, i, -i)),
      device('load', 'abc', 1, 1),
    ];
    await bus.publishBatch([
      ...payloads.map((payload, i) => ({ topic: 'events.devices', key: 'it-d', timestampMs: base + i, value: JSON.stringify({ topic: 'events.devices', source: 'it', payload }) })),
      { topic: 'events.devices', key: 'it-d', timestampMs: base + payloads.length, value: 'not json' },
    ]);
  });
  afterAll(async () => {
    await gateway?.stop();
    await gatewayBus?.close();
    await trainer?.kill('SIGTERM');
    await bus?.close();
  });

  it('trains on the filtered events, skipping the malformed records and reporting them in the job status (the job failed on the first)', async () => {
    const res = await post(`${url}/pipeline/ml/train`, {
      model_name: uniqueName('it-load'),
      model_type: 'linear_regression',
      feature_keys: ['attributes.a', 'attributes.b'],
      target_key: 'value',
      source: { topic: 'events.devices', from: base, to: base + 1_000, filter: { reading: 'load', device_id: 'it-d' } },
      params: { testFraction: 0 },
    });
    expect([res.status, res.json.status]).toEqual([202, 'queued']);
    const job = await waitFor<MlJobStatus | undefined>(
      async () => {
        const j = (await httpRequest(`${url}/pipeline/ml/jobs/${res.json.job_id}`)).json as MlJobStatus;
        return j.status === 'succeeded' || j.status === 'failed' ? j : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250, what: 'the training job to end' },
    );
    expect([job!.status, job!.error, job!.rows, job!.filtered_out]).toEqual(['succeeded', undefined, 60, 30]);
    expect(job!.metrics!['trainR2']).toBeCloseTo(1, 9);
    expect(job!.skipped).toEqual({
      count: 2,
      reasons: [
        { reason: 'record is not a JSON object', count: 1 },
        { reason: 'value must be a finite number', count: 1 },
      ],
      examples: [
        { topic: 'events.devices', partition: expect.any(Number), offset: expect.any(String), error: 'value must be a finite number, got "abc"' },
        { topic: 'events.devices', partition: expect.any(Number), offset: expect.any(String), error: 'record is not a JSON object' },
      ],
    });
  });
});
