import { envEnum, envInt, envString, readBaseConfig, type BaseConfig } from '@pipeline/service-runtime';

export interface IngestConfig extends BaseConfig {
  /** Largest request body accepted (bytes); larger ones get 413. Default 16 MiB. */
  maxBodyBytes: number;
  /** Valid events are published in chunks of this many (one produce request each). */
  publishChunkSize: number;
  /** Consumer group of the validator that dead-letters malformed messages written straight to Kafka. */
  validatorGroupId: string;
  /**
   * Run the dead-letter validator in this process (INGEST_VALIDATOR=on, default) or not (off). It
   * reads every event topic, so it costs about as much Kafka-client CPU as the HTTP path; a large
   * deployment can turn it off on the HTTP-facing replicas and run a few replicas with it on.
   */
  validatorEnabled: boolean;
  /**
   * Events stamped more than this many seconds ahead of ingest's clock are rejected over HTTP
   * (AGG_MAX_FUTURE_SKEW_SECONDS, default 60, the aggregator's setting). Messages written straight
   * to Kafka are not dead-lettered for it: the aggregator counts them as future events.
   */
  maxFutureSkewSeconds: number;
  /**
   * Most events one request may carry (a JSON array's items, NDJSON's non-blank lines); more are
   * answered 413 (MAX_EVENTS_PER_REQUEST, default 10,000).
   */
  maxEventsPerRequest: number;
  /**
   * Judge metric events before publishing them (INGEST_SERIES_CHECK=on, default): a request whose
   * metric event would be a new series the aggregator refuses (its cap, AGG_MAX_SERIES) or past the
   * caller's series quota (sent by the gateway) is answered 429. Costs a view of the aggregator's
   * state topic in this process (the series states as bytes, as the gateway holds); off: nothing
   * is judged here (the aggregator still refuses past its cap, silently).
   */
  seriesCheck: boolean;
  /** Consumer group of the aggregator deployment whose state the series check reads (AGG_GROUP_ID). */
  aggregatorGroup: string;
}

export function readIngestConfig(env: Record<string, string | undefined> = process.env, opts: { requireBrokers?: boolean } = {}): IngestConfig {
  return {
    ...readBaseConfig(env, 'ingest', 8081, opts),
    maxBodyBytes: envInt(env, 'MAX_BODY_BYTES', 16 * 1024 * 1024, { min: 1024 }),
    publishChunkSize: envInt(env, 'PUBLISH_CHUNK_SIZE', 1000, { min: 1, max: 10_000 }),
    validatorGroupId: env['VALIDATOR_GROUP_ID'] || 'pipeline-ingest-validator',
    validatorEnabled: envEnum(env, 'INGEST_VALIDATOR', ['on', 'off'], 'on') === 'on',
    maxFutureSkewSeconds: envInt(env, 'AGG_MAX_FUTURE_SKEW_SECONDS', 60, { min: 0, max: 86_400 }),
    maxEventsPerRequest: envInt(env, 'MAX_EVENTS_PER_REQUEST', 10_000, { min: 1, max: 1_000_000 }),
    seriesCheck: envEnum(env, 'INGEST_SERIES_CHECK', ['on', 'off'], 'on') === 'on',
    aggregatorGroup: envString(env, 'AGG_GROUP_ID', 'pipeline-aggregator'),
  };
}
