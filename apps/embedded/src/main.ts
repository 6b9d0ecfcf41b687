import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InMemoryBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { keyIdOf } from '@pipeline/model-registry';
import { createLogger, envInt, envString, onShutdown, startService, type BaseConfig, type RunningService, type ServiceFactory } from '@pipeline/service-runtime';
import { createGateway, readGatewayConfig } from '../../api-gateway/src/index';
import { createIngest, readIngestConfig } from '../../ingest/src/index';
import { createBatchProcessor, readBatchProcessorConfig } from '../../batch-processor/src/index';
import { createAggregator, readAggregatorConfig } from '../../aggregator/src/index';
import { createTrainer, readTrainerConfig } from '../../ml-trainer/src/index';
import { createPredictorService, readPredictorConfig } from '../../ml-predictor/src/index';

/**
 * `npm start`: the whole pipeline in one process on the in-memory bus — no Kafka, no Docker.
 * The gateway listens on HTTP_PORT (default 8080); the other services listen on ephemeral
 * loopback ports (logged at start) and talk to each other exactly as they do over Kafka.
 */
async function main(): Promise<void> {
  const env = { ...process.env };
  const logger = createLogger('embedded', envString(env, 'LOG_LEVEL', 'info'));
  const bus = new InMemoryBus({ defaultPartitions: 3 });
  await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
  const embedded = { requireBrokers: false };
  const internal = { ...env, HTTP_PORT: '0', HTTP_HOST: '127.0.0.1' };
  const running: RunningService[] = [];
  const lifecycle = onShutdown(logger, 15_000, [
    ['services', async () => void (await Promise.all(running.reverse().map((s) => s.stop())))],
    ['bus', async () => bus.close()],
  ]);
  const start = async <C extends BaseConfig>(factory: ServiceFactory<C>, config: C) => {
    const s = await startService(factory, config, bus, { logger: logger.child({ service: config.serviceName }), isShuttingDown: lifecycle.isShuttingDown });
    running.push(s);
    return s;
  };
  const ingest = await start(createIngest, readIngestConfig(internal, embedded));
  const aggregatorEnv = { ...internal, AGG_SNAPSHOT_INTERVAL_MS: env['AGG_SNAPSHOT_INTERVAL_MS'] ?? '250' };
  await start(createAggregator, readAggregatorConfig(aggregatorEnv, embedded));
  // Batch jobs compute in the worker bundled by `npm run build` when present, else on the event loop.
  const computeWorker = join(__dirname, '..', 'batch-processor', 'compute.worker.js');
  await start(createBatchProcessor, readBatchProcessorConfig(internal, { ...embedded, defaultWorkerPath: existsSync(computeWorker) ? computeWorker : '' }));
  // ML: the trainer and the predictor use the workers bundled by `npm run build` (dist/apps/ml-trainer,
  // dist/apps/ml-predictor) when present, else train / decode inline; the predictor's gRPC server takes a free loopback port handed to the gateway.
  // Model versions are signed: by ML_SIGNING_KEY_FILE / verified with ML_VERIFY_KEYS_FILE when set,
  // else with a key pair made for this process, whose public half the predictor trusts in-process.
  const modelKeys = generateKeyPairSync('ed25519');
  const trainWorker = join(__dirname, '..', 'ml-trainer', 'train.worker.js');
  await start(createTrainer({ signingKey: modelKeys.privateKey }), readTrainerConfig(internal, { ...embedded, defaultWorkerPath: existsSync(trainWorker) ? trainWorker : '' }));
  let grpcPort = 0;
  const decodeWorker = join(__dirname, '..', 'ml-predictor', 'decode.worker.js');
  const predictorOpts = {
    onGrpcListening: (p: number) => (grpcPort = p),
    verifyKeys: new Map([[keyIdOf(modelKeys.publicKey), modelKeys.publicKey]]),
    ...(existsSync(decodeWorker) ? { decodeWorkerPath: decodeWorker } : {}),
  };
  await start(createPredictorService(predictorOpts), readPredictorConfig({ ...internal, GRPC_PORT: '0', GRPC_HOST: '127.0.0.1' }, embedded));
  // The gateway answers on loopback unless HTTP_HOST says otherwise: `npm start` runs with auth off.
  const gatewayEnv = {
    ...env,
    INGEST_URL: `http://127.0.0.1:${ingest.port}`,
    PREDICTOR_GRPC_ADDR: `127.0.0.1:${grpcPort}`,
    HTTP_PORT: String(envInt(env, 'HTTP_PORT', 8080)),
    HTTP_HOST: env['HTTP_HOST'] ?? '127.0.0.1',
  };
  const adhocWorker = join(__dirname, '..', 'api-gateway', 'adhoc.worker.js');
  const gateway = await start(createGateway, readGatewayConfig(gatewayEnv, { ...embedded, defaultWorkerPath: existsSync(adhocWorker) ? adhocWorker : '' }));
  logger.info(
    { gateway: `http://127.0.0.1:${gateway.port}`, services: Object.fromEntries(running.map((s) => [s.name, s.port])) },
    `pipeline running in embedded mode (in-memory bus): open http://127.0.0.1:${gateway.port}/docs`,
  );
}

void main().catch((err) => {
  process.stderr.write(`embedded pipeline failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
