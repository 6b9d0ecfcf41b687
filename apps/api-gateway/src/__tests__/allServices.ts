import { generateKeyPairSync } from 'node:crypto';
import { InMemoryBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { keyIdOf } from '@pipeline/model-registry';
import { startService, type RunningService } from '@pipeline/service-runtime';
import { createAggregator, readAggregatorConfig } from '../../../aggregator/src/index';
import { createBatchProcessor, readBatchProcessorConfig } from '../../../batch-processor/src/index';
import { createIngest, readIngestConfig } from '../../../ingest/src/index';
import { createTrainer, readTrainerConfig } from '../../../ml-trainer/src/index';
import { createPredictorService, readPredictorConfig } from '../../../ml-predictor/src/index';
import { createGateway, readGatewayConfig } from '../index';

/**
 * All six services on one in-memory bus (as `npm start` runs them), each on a free loopback port;
 * training and model decoding inline (no worker bundles needed); model versions signed with a key
 * pair made here, whose public half the predictor trusts (as embedded mode does). `extraEnv` is
 * given to every service (e.g. INTERNAL_TOKEN_FILE).
 */
export async function startAllServices(extraEnv: Record<string, string> = {}) {
  const bus = new InMemoryBus({ defaultPartitions: 3 });
  await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
  const base = { HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent', ...extraEnv };
  const embedded = { requireBrokers: false };
  const services: RunningService[] = [];
  let grpcPort = 0;
  const ingest = await startService(createIngest, readIngestConfig(base, embedded), bus);
  services.push(ingest);
  services.push(await startService(createAggregator, readAggregatorConfig(base, embedded), bus));
  services.push(await startService(createBatchProcessor, readBatchProcessorConfig(base, embedded), bus));
  const modelKeys = generateKeyPairSync('ed25519');
  services.push(await startService(createTrainer({ signingKey: modelKeys.privateKey }), readTrainerConfig(base, { ...embedded, defaultWorkerPath: '' }), bus));
  const verifyKeys = new Map([[keyIdOf(modelKeys.publicKey), modelKeys.publicKey]]);
  services.push(await startService(createPredictorService({ onGrpcListening: (p) => (grpcPort = p), verifyKeys }), readPredictorConfig({ ...base, GRPC_PORT: '0', GRPC_HOST: '127.0.0.1' }, embedded), bus));
  const gatewayEnv = { ...base, INGEST_URL: `http://127.0.0.1:${ingest.port}`, PREDICTOR_GRPC_ADDR: `127.0.0.1:${grpcPort}` };
  services.push(await startService(createGateway, readGatewayConfig(gatewayEnv, embedded), bus));
  return {
    bus,
    services: services.map((s) => ({ name: s.name, url: `http://127.0.0.1:${s.port}` })),
    grpcAddress: `127.0.0.1:${grpcPort}`,
    async stop() {
      for (const s of [...services].reverse()) await s.stop();
      await bus.close();
    },
  };
}
