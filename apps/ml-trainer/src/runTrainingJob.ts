import type { KeyObject } from 'node:crypto';
import { ContractError, INTERNAL_TOPICS, PipelineError, parseTrainRequest, type MlJobCommand, type MlJobStatus, type MlTrainRequest } from '@pipeline/contracts';
import type { EventBus } from '@pipeline/kafka';
import type { TrainRequest } from '@pipeline/ml';
import { publishModel, type ModelRegistryView } from '@pipeline/model-registry';
import { JobCancelledError, JobTimeoutError } from './errors';
import { readTrainingRows, resolveSourceWindow } from './readTrainingRows';
import type { ModelSummary, TrainingRunner } from './TrainingRunner';

/** Share of `progress` given to reading the source; training gets the rest up to PUBLISH_AT. */
const READ_SHARE = 0.3;
const PUBLISH_AT = 0.95;

export interface TrainingJobDeps {
  bus: EventBus;
  /** Caught up before the version is chosen: the new version is max(existing) + 1. */
  registry: ModelRegistryView;
  runner: TrainingRunner;
  /** Least time between two progress messages (ms); state changes are always published. */
  progressIntervalMs: number;
  /**
   * Stops the job. A reason that is a non-retriable PipelineError ends the job with it
   * (JobCancelledError: `cancelled`); any other reason (shutdown) makes the job reject with it,
   * publishing nothing terminal, so that it runs again.
   */
  signal: AbortSignal;
  /** The job is stopped after this long (ms) and ends `failed` with code `job_timeout` (JobTimeoutError). */
  timeoutMs: number;
  /** Wall clock; injectable for tests. */
  now?: () => Date;
  /** Signs the published version's manifest (Ed25519; see publishModel). Unsigned without it. */
  signingKey?: KeyObject;
}

export interface JobOutcome {
  status: MlJobStatus;
  summary?: ModelSummary;
}

/**
 * One training job, from command to terminal status, publishing each state to `pipeline.ml.jobs`
 * (key = job_id; the latest value is the job's state):
 *
 *   queued (by the gateway) → running {phase: reading, progress 0…0.3}
 *     → running {phase: training, progress 0.3…0.95} → running {phase: publishing, 0.95}
 *     → succeeded {model_version, metrics, rows, duration_seconds} | failed {error, error_code} | cancelled {error, error_code}
 *
 * Bad input (ContractError, MlInputError) and any other non-retriable error end the job `failed`
 * with the message (naming the field for bad input) and, for a PipelineError, its code. So do the
 * final stops: `timeoutMs` passing (JobTimeoutError, `job_timeout`) and a cancel (JobCancelledError
 * on `signal`, which ends it `cancelled`); either aborts the step running (the training worker is
 * terminated, a source read stopped). The job then resolves, so the caller commits its command.
 * A PipelineError that is `retriable` (Kafka unavailable) and any other abort (shutdown) reject:
 * the caller leaves the command uncommitted, so the job runs again (see trainerService).
 */
export async function runTrainingJob(command: MlJobCommand, deps: TrainingJobDeps): Promise<JobOutcome> {
  const now = deps.now ?? (() => new Date());
  const started = now();
  const startedMono = performance.now();
  const req = (command.request ?? {}) as Partial<MlTrainRequest>;
  let status: MlJobStatus = {
    job_id: command.job_id,
    status: 'running',
    progress: 0,
    phase: 'reading',
    model_name: String(req.model_name ?? ''),
    model_type: String(req.model_type ?? ''),
    submitted_at: command.submitted_at,
    started_at: started.toISOString(),
    updated_at: started.toISOString(),
    ...(command.owner === undefined ? {} : { owner: command.owner }),
  };
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new JobTimeoutError(deps.timeoutMs)), deps.timeoutMs);
  const signal = AbortSignal.any([deps.signal, deadline.signal]);
  let chain = Promise.resolve();
  let lastSent = 0;
  const send = (next: Partial<MlJobStatus>, force: boolean) => {
    status = { ...status, ...next, updated_at: now().toISOString() };
    const t = performance.now();
    if (!force && t - lastSent < deps.progressIntervalMs) return;
    lastSent = t;
    const value = JSON.stringify(status);
    chain = chain.then(() => deps.bus.publish({ topic: INTERNAL_TOPICS.mlJobs, key: command.job_id, value }));
  };
  // Progress publishes are not awaited one by one; a failed one surfaces at the next awaited state.
  const flush = async () => {
    const c = chain;
    chain = Promise.resolve();
    await c;
  };

  try {
    signal.throwIfAborted(); // e.g. cancelled while it waited for a training slot: no `running` then
    send({}, true);
    const request = parseTrainRequest(command.request, { nowMs: started.getTime() });
    let rows: Record<string, unknown>[];
    let source: unknown;
    if (request.source) {
      const window = resolveSourceWindow(request.source, started.getTime());
      const fields = { featureKeys: request.feature_keys, ...(isRegressor(request.model_type) ? { targetKey: request.target_key! } : {}) };
      const read = await readTrainingRows(deps.bus, window, fields, (f) => send({ progress: round(f * READ_SHARE) }, false), signal);
      rows = read.rows;
      const skipped = read.skipped?.count ?? 0;
      source = {
        topic: window.topic,
        from: new Date(window.fromMs).toISOString(),
        to: new Date(window.toMs).toISOString(),
        limit: window.limit,
        ...(request.source.filter ? { filter: request.source.filter, filtered_out: read.filteredOut } : {}),
        skipped,
      };
      send({ ...(read.skipped ? { skipped: read.skipped } : {}), ...(request.source.filter ? { filtered_out: read.filteredOut } : {}) }, false);
      if (rows.length === 0) {
        const range = `on ${window.topic} with a time in [${new Date(window.fromMs).toISOString()}, ${new Date(window.toMs).toISOString()})`;
        const left = [...(request.source.filter ? [`${read.filteredOut} not matching source.filter`] : []), ...(read.skipped ? [`${skipped} skipped: ${read.skipped.reasons.map((r) => r.reason).join('; ')}`] : [])];
        throw new ContractError(left.length === 0 ? `source has no events ${range}` : `source has no usable events ${range} (${left.join(', ')})`, 'source');
      }
    } else {
      rows = request.data!;
      source = { inline: true };
    }
    send({ phase: 'training', progress: READ_SHARE, rows: rows.length }, true);
    await flush();
    await deps.registry.catchUp();
    const version = deps.registry.nextVersion(request.model_name);
    const trainRequest: TrainRequest = {
      modelName: request.model_name,
      modelType: request.model_type,
      featureKeys: request.feature_keys,
      ...(request.target_key === undefined ? {} : { targetKey: request.target_key }),
      rows,
      ...(request.params === undefined ? {} : { params: request.params }),
      version,
      trainedAt: now().toISOString(),
      source: { ...(source as object), job_id: command.job_id },
    };
    const out = await deps.runner.train(trainRequest, (f) => send({ progress: round(READ_SHARE + f * (PUBLISH_AT - READ_SHARE)) }, false), signal);
    signal.throwIfAborted(); // the inline runner cannot be interrupted: a stop during it counts here
    send({ phase: 'publishing', progress: PUBLISH_AT }, true);
    await flush();
    await publishModel(deps.bus, {
      topic: INTERNAL_TOPICS.mlModels,
      name: request.model_name,
      version,
      bytes: out.bytes,
      metadata: out.summary,
      publishedAt: now().toISOString(),
      ...(deps.signingKey ? { signingKey: deps.signingKey } : {}),
    });
    const finished = now();
    const { phase: _phase, ...rest } = status;
    status = {
      ...rest,
      status: 'succeeded',
      progress: 1,
      model_version: version,
      metrics: out.summary.metrics,
      finished_at: finished.toISOString(),
      duration_seconds: round((performance.now() - startedMono) / 1000, 3),
    };
    send({}, true);
    await flush();
    return { status, summary: out.summary };
  } catch (err) {
    // A stopped job ends by the stop's reason, whatever the step it stopped threw.
    const cause = signal.aborted ? (signal.reason as unknown) : err;
    const final = cause instanceof PipelineError ? !cause.retriable : !signal.aborted;
    if (!final) {
      await chain.catch(() => undefined);
      throw cause;
    }
    const { phase: _phase, ...rest } = status;
    status = {
      ...rest,
      status: cause instanceof JobCancelledError ? 'cancelled' : 'failed',
      error: (cause as Error).message,
      ...(cause instanceof PipelineError ? { error_code: cause.code } : {}),
      finished_at: now().toISOString(),
      duration_seconds: round((performance.now() - startedMono) / 1000, 3),
    };
    await chain.catch(() => undefined);
    chain = Promise.resolve();
    send({}, true);
    await flush();
    return { status };
  } finally {
    clearTimeout(timer);
  }
}

const isRegressor = (type: string): boolean => type === 'random_forest' || type === 'linear_regression';

function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
