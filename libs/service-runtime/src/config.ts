import { KAFKA_CLIENTS, type KafkaClient } from '@pipeline/kafka';

/**
 * Typed readers for environment variables. Apps call these from their one `config.ts`, passing
 * `process.env`; a bad value throws ConfigError naming the variable and what was expected.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
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

/** Settings every service shares; each app's config.ts spreads these into its own object. */
export interface BaseConfig {
  serviceName: string;
  /** Comma-separated `host:port` list; required in Kafka mode. */
  kafkaBrokers: string[];
  kafkaClientId: string;
  /** The Kafka client library the service's bus runs on (KAFKA_CLIENT; see createKafkaBus). */
  kafkaClient: KafkaClient;
  /** Partitions for topics the service creates at start (existing topics are not changed). */
  topicPartitions: number;
  replicationFactor: number;
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
    kafkaClient: envEnum(env, 'KAFKA_CLIENT', KAFKA_CLIENTS, 'kafkajs'),
    topicPartitions: envInt(env, 'KAFKA_TOPIC_PARTITIONS', 3, { min: 1, max: 1000 }),
    replicationFactor: envInt(env, 'KAFKA_REPLICATION_FACTOR', 1, { min: 1, max: 10 }),
    logLevel: envEnum(env, 'LOG_LEVEL', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], 'info'),
    httpPort: envInt(env, 'HTTP_PORT', defaultPort, { min: 0, max: 65535 }),
    httpHost: envString(env, 'HTTP_HOST', '0.0.0.0'),
    shutdownTimeoutMs: envInt(env, 'SHUTDOWN_TIMEOUT_MS', 15_000, { min: 100 }),
    sessionTimeoutMs: envInt(env, 'KAFKA_SESSION_TIMEOUT_MS', 30_000, { min: 6_000, max: 300_000 }),
    fetchBytesPerPartition: envInt(env, 'KAFKA_FETCH_BYTES_PER_PARTITION', 8 * 1024 * 1024, { min: 64 * 1024, max: 64 * 1024 * 1024 }),
  };
}
