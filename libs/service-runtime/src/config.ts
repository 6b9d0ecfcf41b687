import { readFileSync } from 'node:fs';
import { DEFAULT_KAFKA_CLIENT, KAFKA_CLIENTS, type KafkaClient, type KafkaSaslMechanism, type KafkaSaslOptions, type KafkaSslOptions } from '@pipeline/kafka';

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

/**
 * The PEM file a variable names, parsed: undefined when the variable is not set. An unreadable file
 * fails with the variable, the path and the errno code; `parse` gets the text and a label naming
 * both (`ML_SIGNING_KEY_FILE (/etc/keys/trainer.pem)`) for its own messages, and whatever it throws
 * becomes a ConfigError with the same message.
 */
export function envPemFile<T>(env: Env, name: string, parse: (pem: string, source: string) => T): T | undefined {
  const path = envString(env, name, '');
  if (path === '') return undefined;
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${name} must name a readable PEM file, got "${path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return parse(pem, `${name} (${path})`);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

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
    kafkaClient: envEnum(env, 'KAFKA_CLIENT', KAFKA_CLIENTS, DEFAULT_KAFKA_CLIENT),
    ...readKafkaSecurity(env),
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
