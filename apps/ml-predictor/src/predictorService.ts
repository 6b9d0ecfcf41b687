import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { Counter, Histogram } from 'prom-client';
import { INTERNAL_TOPICS } from '@pipeline/contracts';
import { ModelRegistryView } from '@pipeline/model-registry';
import { startCountersAtZero, type ServiceFactory } from '@pipeline/service-runtime';
import type { PredictorConfig } from './config';
import { createGrpcServer, type GrpcServer } from './grpc';
import { createInlineDecoder, createWorkerDecoder, type ModelDecoder } from './ModelDecoder';
import { RegistryCatalog, newestPerModel } from './RegistryCatalog';

/** Seconds: fine below 5 ms, where a call's own work lies, with a boundary at PipelinePredictionLatencyHigh's 50 ms. */
const PREDICT_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/**
 * ml-predictor: serves every model of the registry over gRPC (ml.v1.PredictorService, KServe v2,
 * grpc.health.v1) on `grpcPort`; HTTP only for /healthz, /readyz, /metrics. New versions are
 * hot-loaded from the registry topic as they appear. At start the gRPC port opens once the registry
 * view has caught up with the topic; the predictor is ready (gRPC health SERVING, /readyz 200) once
 * the versions found have decoded or `startupDecodeWaitMs` has passed, whichever is first — a
 * version still decoding then is served when it finishes (NOT_FOUND until then), so one slow or
 * hostile record cannot hold readiness. Shutdown: health NOT_SERVING, in-flight calls get
 * `drainGraceMs` to finish, then the registry consumer stops.
 *
 * New versions are decoded in a worker thread running `decodeWorkerPath` (decode.worker.js), with
 * heap limits and a per-version timeout, so a hot swap does not pause the calls being served and a
 * version that fails to decode is reported and skipped; without it (tests, embedded mode before a
 * build) they are decoded on the main thread. `decoder` replaces both (tests).
 *
 * Trust: with `config.verifyKeys` (ML_VERIFY_KEYS_FILE) — or else `opts.verifyKeys`, which embedded
 * mode sets to the key its trainer signs with — only versions whose manifest the trainer signed are
 * served; any other manifest record is refused, logged and counted in
 * `pipeline_ml_models_rejected_total{reason}`, and serving goes on with what it had. Likewise a
 * version is withdrawn only by the trainer's signed withdrawal record: a bare tombstone of its
 * manifest is ignored, logged and counted (`unsigned_withdrawal`). With neither,
 * every version is served unverified and a warning says so at start. At most `config.maxModels`
 * names are served; versions of further names are refused and counted (reason `model_cap`).
 *
 * `onGrpcListening` receives the bound gRPC port (embedded mode binds port 0).
 */
export function createPredictorService(
  opts: { onGrpcListening?(port: number): void; decodeWorkerPath?: string; decoder?: ModelDecoder; verifyKeys?: ReadonlyMap<string, KeyObject> } = {},
): ServiceFactory<PredictorConfig> {
  return ({ config, bus, metrics, logger }) => {
    const registers = [metrics.registry];
    const predictDuration = new Histogram({
      name: 'pipeline_ml_prediction_duration_seconds',
      help: 'Server-side time of one Predict / ModelInfer call (validation, prediction, response)',
      labelNames: ['model', 'api'],
      buckets: PREDICT_BUCKETS,
      registers,
    });
    const predictErrors = new Counter({ name: 'pipeline_ml_prediction_errors_total', help: 'Predict / ModelInfer calls that failed', labelNames: ['model', 'api'], registers });
    const loads = new Counter({ name: 'pipeline_ml_model_loads_total', help: 'Model versions loaded from the registry, by result', labelNames: ['result'], registers });
    startCountersAtZero(loads, { result: ['ok', 'error'] });
    const rejected = new Counter({
      name: 'pipeline_ml_models_rejected_total',
      help: 'Records refused on manifest keys: a manifest or withdrawal unsigned, signed by an untrusted key or not matching its signature, or a bare tombstone of a signed version (unsigned_withdrawal) (ML_VERIFY_KEYS_FILE); or a version of a name beyond ML_MAX_MODELS',
      labelNames: ['reason'],
      registers,
    });
    startCountersAtZero(rejected, { reason: ['unsigned', 'unknown_key', 'bad_signature', 'unsigned_withdrawal', 'model_cap'] });
    const verifyKeys = config.verifyKeys ?? opts.verifyKeys;
    metrics.expectTopics({ consumed: [INTERNAL_TOPICS.mlModels] });
    const loadDuration = new Histogram({
      name: 'pipeline_ml_model_load_duration_seconds',
      help: 'From a complete registry version to serving it (decoding included), by the thread that decoded it: worker, or main (inline decoding: embedded mode before a build)',
      labelNames: ['thread'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    // Both series exist from the start at 0, so increase() sees the first main-thread decode.
    loadDuration.zero({ thread: 'worker' });
    loadDuration.zero({ thread: 'main' });
    const workerDecoder = (path: string) =>
      createWorkerDecoder({
        spawn: (resourceLimits) => new Worker(path, { resourceLimits }),
        resourceLimits: { maxOldGenerationSizeMb: config.decodeMaxHeapMb, maxYoungGenerationSizeMb: 16 },
        timeoutMs: config.decodeTimeoutMs,
        onWorkerFailure: (err) => logger.warn({ err: err.message }, 'model decode worker failed; the version it was decoding is not served, a new worker starts with the next version'),
      });
    const decoder = opts.decoder ?? (opts.decodeWorkerPath ? workerDecoder(opts.decodeWorkerPath) : createInlineDecoder());
    const catalog = new RegistryCatalog({
      maxVersionsPerModel: config.maxVersionsPerModel,
      maxModels: config.maxModels,
      onRefused: (name, version, reason) => {
        rejected.inc({ reason });
        logger.warn({ model: name, version, maxModels: config.maxModels }, 'model version refused: ML_MAX_MODELS names are already served');
      },
      decoder,
      onLoaded: (m, { thread, seconds }) => {
        loads.inc({ result: 'ok' });
        startCountersAtZero(predictErrors, { model: [m.name], api: ['ml.v1', 'kserve'] });
        loadDuration.observe({ thread }, seconds);
        logger.info({ model: m.name, version: m.version, decodedIn: thread, loadMs: Math.round(seconds * 1000) }, 'model version loaded');
      },
      onUnloaded: (name, version) => logger.info({ model: name, version }, 'model version withdrawn from the registry; no longer served'),
      onLoadError: (name, version, err) => {
        loads.inc({ result: 'error' });
        logger.error({ model: name, version, err: err.message }, 'model version could not be loaded');
      },
    });
    const registry = new ModelRegistryView(bus, {
      topic: INTERNAL_TOPICS.mlModels,
      groupPrefix: 'pipeline-ml-predictor-models',
      onInvalid: (name, version, reason) => logger.warn({ model: name, version, reason }, 'model version does not match its manifest (yet)'),
      ...(verifyKeys ? { verifyKeys } : {}),
      onRejected: (name, version, reason, signer) => {
        rejected.inc({ reason });
        if (reason === 'unsigned_withdrawal') logger.warn({ model: name, version, reason }, 'tombstone of a signed model version ignored: no signed withdrawal preceded it (not written by the trainer\'s retention); the version stays served');
        else logger.warn({ model: name, version, reason, signer }, 'record on a model manifest key refused: not signed by a trusted trainer key; serving goes on with the versions already verified');
      },
      onChunksDropped: (name, version, chunks, bytes) => logger.warn({ model: name, version, chunks, bytes }, 'dropped chunks that completed no model version within 10 min (a crashed publish, or records not written by the trainer)'),
    });
    // Until the view has caught up at start, versions are not decoded one by one as they are read:
    // then only the newest maxVersionsPerModel of each model are (the others would be evicted at once).
    let live = false;
    registry.onAdded((m) => {
      if (live) void catalog.load(m);
    });
    registry.onRemoved((name, version) => void catalog.unload(name, version));
    let grpc: GrpcServer | undefined;
    let startupWait: NodeJS.Timeout | undefined;
    let endStartupWait = () => undefined as void;

    return {
      readiness: [{ name: 'models', check: async () => catalog.isReady() }],
      async start() {
        if (verifyKeys) logger.info({ keyIds: [...verifyKeys.keys()] }, 'model versions must be signed by one of these trainer keys');
        else logger.warn('ML_VERIFY_KEYS_FILE is not set: model versions are served WITHOUT signature verification — anyone who can write pipeline.ml.models can change predictions. Set it to the trainer\'s public key (README, Configuration).');
        if (!config.internalTokens && bus.kind === 'kafka') logger.warn('INTERNAL_TOKEN_FILE is not set: the gRPC port answers any caller that reaches it');
        await registry.start();
        await registry.catchUp(120_000);
        const initial = newestPerModel(registry.list(), config.maxVersionsPerModel);
        for (const m of initial) void catalog.load(m);
        live = true; // in the same turn as list(): no version can slip between the two
        grpc = createGrpcServer({
          catalog,
          maxReceiveMessageBytes: config.maxReceiveMessageBytes,
          maxSessionMemoryMb: config.maxSessionMemoryMb,
          maxConcurrentReads: config.maxConcurrentReads,
          readTimeoutMs: config.readTimeoutMs,
          internalTokens: config.internalTokens,
          log: (err, method) => logger.error({ err, method }, 'gRPC call failed'),
          onPredict: (model, api, seconds, ok) => {
            predictDuration.observe({ model, api }, seconds);
            if (!ok) predictErrors.inc({ model, api });
          },
        });
        const port = await grpc.start(config.grpcHost, config.grpcPort);
        opts.onGrpcListening?.(port);
        const allDecoded = await Promise.race([
          catalog.settled().then(() => true),
          new Promise<boolean>((resolve) => {
            endStartupWait = () => resolve(false);
            startupWait = setTimeout(endStartupWait, config.startupDecodeWaitMs);
          }),
        ]);
        clearTimeout(startupWait);
        catalog.markReady();
        const served = catalog.list().map((m) => `${m.name}/${m.version}`);
        if (allDecoded) logger.info({ grpcPort: port, models: served }, 'gRPC server listening; every model version in the registry is served');
        else {
          const waiting = initial.map((m) => `${m.manifest.name}/${m.manifest.version}`).filter((k) => !served.includes(k));
          logger.warn({ grpcPort: port, models: served, notYetServed: waiting, waitedMs: config.startupDecodeWaitMs }, 'ready before every model version decoded (ML_STARTUP_DECODE_WAIT_MS); the rest are served as they finish');
        }
      },
      async stop() {
        clearTimeout(startupWait);
        endStartupWait();
        await grpc?.stop(config.drainGraceMs);
        await registry.stop();
        await decoder.close();
      },
    };
  };
}
