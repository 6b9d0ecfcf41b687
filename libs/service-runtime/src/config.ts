import { readFileSync } from 'node:fs';
import { parseInternalTokens } from './internalToken';
import { PipelineError } from '@pipeline/contracts';
import {
  DEFAULT_KAFKA_CLIENT,
  DEFAULT_TOPIC_RETENTION,
  KAFKA_CLIENTS,
  RETAINED_TOPICS,
  type KafkaClient,
  type KafkaSaslMechanism,
  type KafkaSaslOptions,
  type KafkaSslOptions,
  type TopicRetention,
} from '@pipeline/kafka';

/**
 * Typed readers for environment variables. Apps call these from their one `config.ts`, passing
 * `process.env`; a bad value throws ConfigError naming the variable and what was expected.
 */
export class ConfigError extends PipelineError {
  constructor(message: string) {
    super('invalid_config', message);
  }
}

type Env = Record<string, string | undefined>;

export function envString(env: Env, name: string, fallback: string): string {
  const v = env[name];
  return v === undefined || v === '' ? fallback : v;
}

export function envInt(env: Env, name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v)) throw new ConfigError(`${name} must be an integer, got "${raw}"`);
  if (range.min !== undefined && v < range.min) throw new ConfigError(`${name} must be ≥ ${range.min}, got ${v}`);
  if (range.max !== undefined && v > range.max) throw new ConfigError(`${name} must be ≤ ${range.max}, got ${v}`);
  return v;
}

export function envList(env: Env, name: string, fallback: string[] = []): string[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}

export function envEnum<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

/**
 * The file a variable names, read and parsed: undefined when the variable is not set. An unreadable
 * file fails with the variable, the path and the errno code; `parse` gets the text and a label naming
 * both (`ML_SIGNING_KEY_FILE (/etc/keys/trainer.pem)`) for its own messages, and whatever it throws
 * becomes a ConfigError with the same message.
 */
export function envTextFile<T>(env: Env, name: string, parse: (text: string, source: string) => T, what = 'file'): T | undefined {
  const path = envString(env, name, '');
  if (path === '') return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${name} must name a readable ${what}, got "${path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return parse(text, `${name} (${path})`);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

/** envTextFile for a PEM file (keys, certificates). */
export const envPemFile = <T>(env: Env, name: string, parse: (pem: string, source: string) => T): T | undefined => envTextFile(env, name, parse, 'PEM file');

/** Settings every service shares; each app's config.ts spreads these into its own object. */
export interface BaseConfig {
  serviceName: string;
  /** Comma-separated `host:port` list; required in Kafka mode. */
  kafkaBrokers: string[];
  kafkaClientId: string;
  /** The Kafka client library the service's bus runs on (KAFKA_CLIENT; see createKafkaBus). */
  kafkaClient: KafkaClient;
  /** TLS to the brokers (KAFKA_SSL=true), with the CA bundle read once from KAFKA_SSL_CA_FILE at start; absent: plaintext. */
  kafkaSsl?: KafkaSslOptions;
  /** SASL login (KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD); absent: none. Never log it. */
  kafkaSasl?: KafkaSaslOptions;
  /** Partitions for topics the service creates at start (existing topics are not changed). */
  topicPartitions: number;
  replicationFactor: number;
  /**
   * retention.ms / retention.bytes (per partition) of every topic whose records expire, keyed by
   * topic (KAFKA_RETENTION_MS, KAFKA_RETENTION_BYTES and their per-topic overrides; see
   * readTopicRetention). Applied to topics the service creates; existing topics are not changed.
   */
  topicRetention: Record<string, TopicRetention>;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** HTTP port for /healthz, /readyz, /metrics (and the service's own routes). */
  httpPort: number;
  httpHost: string;
  /** Kafka consumer session timeout (ms): how soon a crashed replica's partitions move to another. */
  sessionTimeoutMs: number;
  /** Most bytes a consumer fetches per partition per request (KAFKA_FETCH_BYTES_PER_PARTITION): throughput vs memory. */
  fetchBytesPerPartition: number;
  /** How long graceful shutdown may take before the process exits anyway (ms). */
  shutdownTimeoutMs: number;
  /**
   * The internal service token(s) from INTERNAL_TOKEN_FILE (one per line; see parseInternalTokens):
   * ingest's routes and ml-predictor's gRPC port accept only callers presenting one, and the gateway
   * sends the first. Absent: internal paths are open (the NetworkPolicies still apply).
   */
  internalTokens?: string[];
}

/**
 * `requireBrokers: false` is for the embedded mode, where every service shares an in-memory bus.
 */
export function readBaseConfig(env: Env, serviceName: string, defaultPort: number, opts: { requireBrokers?: boolean } = {}): BaseConfig {
  const kafkaBrokers = envList(env, 'KAFKA_BROKERS');
  if (kafkaBrokers.length === 0 && opts.requireBrokers !== false) throw new ConfigError('KAFKA_BROKERS must list at least one broker (host:port[,host:port...]), got nothing');
  for (const b of kafkaBrokers) if (!/^[^:\s]+:\d+$/.test(b)) throw new ConfigError(`KAFKA_BROKERS entries must be host:port, got "${b}"`);
  return {
    serviceName,
    kafkaBrokers,
    kafkaClientId: envString(env, 'KAFKA_CLIENT_ID', serviceName),
    kafkaClient: envEnum(env, 'KAFKA_CLIENT', KAFKA_CLIENTS, DEFAULT_KAFKA_CLIENT),
    ...readKafkaSecurity(env),
    topicPartitions: envInt(env, 'KAFKA_TOPIC_PARTITIONS', 3, { min: 1, max: 1000 }),
    replicationFactor: envInt(env, 'KAFKA_REPLICATION_FACTOR', 1, { min: 1, max: 10 }),
    topicRetention: readTopicRetention(env),
    logLevel: envEnum(env, 'LOG_LEVEL', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], 'info'),
    httpPort: envInt(env, 'HTTP_PORT', defaultPort, { min: 0, max: 65535 }),
    httpHost: envString(env, 'HTTP_HOST', '0.0.0.0'),
    shutdownTimeoutMs: envInt(env, 'SHUTDOWN_TIMEOUT_MS', 15_000, { min: 100 }),
    sessionTimeoutMs: envInt(env, 'KAFKA_SESSION_TIMEOUT_MS', 30_000, { min: 6_000, max: 300_000 }),
    fetchBytesPerPartition: envInt(env, 'KAFKA_FETCH_BYTES_PER_PARTITION', 8 * 1024 * 1024, { min: 64 * 1024, max: 64 * 1024 * 1024 }),
    internalTokens: envTextFile(env, 'INTERNAL_TOKEN_FILE', parseInternalTokens),
  };
}

/** `events.metrics` → `EVENTS_METRICS`: the suffix of its KAFKA_RETENTION_MS_… / KAFKA_RETENTION_BYTES_… variables. */
const retentionVariableSuffix = (topic: string): string => topic.toUpperCase().replace(/[^A-Z0-9]/g, '_');

/** A retention limit: -1 (none) or an integer of at least `min`. */
function envRetention(env: Env, name: string, fallback: number, min: number, unit: string): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  // Decimal digits only: Kafka takes the value as written, and "1.5e9" or "0x10" would not be.
  const v = /^(-1|\d+)$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(v) || (v !== -1 && v < min)) throw new ConfigError(`${name} must be -1 (no limit) or an integer ≥ ${min} (${unit}), got "${raw}"`);
  return v;
}

/**
 * Retention of every topic whose records expire (RETAINED_TOPICS). KAFKA_RETENTION_MS and
 * KAFKA_RETENTION_BYTES set all of them (default DEFAULT_TOPIC_RETENTION: 7 days, 16 GiB per
 * partition); KAFKA_RETENTION_MS_<TOPIC> and KAFKA_RETENTION_BYTES_<TOPIC> set one, <TOPIC> being
 * its name in upper case with `.` as `_` (KAFKA_RETENTION_BYTES_EVENTS_METRICS). A per-topic
 * variable naming no such topic (a typo, or a compacted topic, which keeps the latest value per
 * key and has no retention) fails start-up rather than being ignored.
 */
export function readTopicRetention(env: Env): Record<string, TopicRetention> {
  const ms = envRetention(env, 'KAFKA_RETENTION_MS', DEFAULT_TOPIC_RETENTION.ms, 60_000, 'ms');
  const bytes = envRetention(env, 'KAFKA_RETENTION_BYTES', DEFAULT_TOPIC_RETENTION.bytes, 1024 * 1024, 'bytes per partition');
  const suffixes = new Map(RETAINED_TOPICS.map((t) => [retentionVariableSuffix(t), t]));
  for (const name of Object.keys(env)) {
    const m = /^KAFKA_RETENTION_(MS|BYTES)_(.+)$/.exec(name);
    if (m && env[name] !== undefined && env[name] !== '' && !suffixes.has(m[2]!)) {
      throw new ConfigError(`${name} names no topic with retention (compacted topics have none); expected KAFKA_RETENTION_${m[1]}_ followed by one of ${[...suffixes.keys()].join(', ')}`);
    }
  }
  const out: Record<string, TopicRetention> = {};
  for (const [suffix, topic] of suffixes) {
    out[topic] = {
      ms: envRetention(env, `KAFKA_RETENTION_MS_${suffix}`, ms, 60_000, 'ms'),
      bytes: envRetention(env, `KAFKA_RETENTION_BYTES_${suffix}`, bytes, 1024 * 1024, 'bytes per partition'),
    };
  }
  return out;
}

const SASL_MECHANISMS: readonly KafkaSaslMechanism[] = ['scram-sha-512', 'scram-sha-256', 'plain'];

/**
 * The Kafka connection's security, from the contract the deploy manifests set (docs/deploy.md,
 * "Credentials"): KAFKA_SSL, KAFKA_SSL_CA_FILE, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME,
 * KAFKA_SASL_PASSWORD. Nothing set: plaintext without a login. An incomplete or contradictory
 * combination fails with the variable's name; no message ever contains the password.
 */
function readKafkaSecurity(env: Env): { kafkaSsl?: KafkaSslOptions; kafkaSasl?: KafkaSaslOptions } {
  const sslRaw = env['KAFKA_SSL'];
  if (sslRaw !== undefined && sslRaw !== '' && sslRaw !== 'true' && sslRaw !== 'false') throw new ConfigError(`KAFKA_SSL must be true or false, got "${sslRaw}"`);
  const ssl = sslRaw === 'true';
  const caFile = env['KAFKA_SSL_CA_FILE'];
  let kafkaSsl: KafkaSslOptions | undefined;
  if (caFile !== undefined && caFile !== '') {
    if (!ssl) throw new ConfigError(`KAFKA_SSL_CA_FILE is set ("${caFile}") but KAFKA_SSL is not true: a CA is only used with TLS`);
    let ca: string;
    try {
      ca = readFileSync(caFile, 'utf8');
    } catch (e) {
      throw new ConfigError(`KAFKA_SSL_CA_FILE must be a readable PEM file, got "${caFile}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`KAFKA_SSL_CA_FILE must hold at least one PEM certificate (-----BEGIN CERTIFICATE-----), got "${caFile}" without one`);
    kafkaSsl = { ca };
  } else if (ssl) {
    kafkaSsl = {};
  }

  const mechanismRaw = env['KAFKA_SASL_MECHANISM'];
  const username = env['KAFKA_SASL_USERNAME'];
  const password = env['KAFKA_SASL_PASSWORD'];
  if (mechanismRaw === undefined || mechanismRaw === '') {
    if (username) throw new ConfigError('KAFKA_SASL_MECHANISM must be set when KAFKA_SASL_USERNAME is, got nothing');
    if (password) throw new ConfigError('KAFKA_SASL_MECHANISM must be set when KAFKA_SASL_PASSWORD is, got nothing');
    return kafkaSsl ? { kafkaSsl } : {};
  }
  const mechanism = mechanismRaw.toLowerCase() as KafkaSaslMechanism;
  if (!SASL_MECHANISMS.includes(mechanism)) throw new ConfigError(`KAFKA_SASL_MECHANISM must be one of ${SASL_MECHANISMS.join(', ')}, got "${mechanismRaw}"`);
  if (!username) throw new ConfigError(`KAFKA_SASL_USERNAME must be set when KAFKA_SASL_MECHANISM is (${mechanism}), got nothing`);
  if (!password) throw new ConfigError(`KAFKA_SASL_PASSWORD must be set when KAFKA_SASL_MECHANISM is (${mechanism}), got nothing`);
  return { ...(kafkaSsl ? { kafkaSsl } : {}), kafkaSasl: { mechanism, username, password } };
}
