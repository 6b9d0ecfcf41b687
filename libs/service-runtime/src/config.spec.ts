import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, envPemFile, readBaseConfig, readTopicRetention } from './config';

describe('readBaseConfig', () => {
  it('reads the Kafka settings with their defaults', () => {
    const c = readBaseConfig({ KAFKA_BROKERS: 'k1:9092,k2:9093' }, 'svc', 8080);
    expect([c.kafkaBrokers, c.kafkaClientId, c.sessionTimeoutMs, c.fetchBytesPerPartition, c.httpPort]).toEqual([['k1:9092', 'k2:9093'], 'svc', 30_000, 8 * 1024 * 1024, 8080]);
    expect(readBaseConfig({ KAFKA_BROKERS: 'k:1', KAFKA_FETCH_BYTES_PER_PARTITION: '1048576' }, 'svc', 1).fetchBytesPerPartition).toBe(1_048_576);
    expect(readBaseConfig({ KAFKA_BROKERS: 'k:1' }, 'svc', 1).kafkaClient).toBe('platformatic');
    expect(readBaseConfig({ KAFKA_BROKERS: 'k:1', KAFKA_CLIENT: 'kafkajs' }, 'svc', 1).kafkaClient).toBe('kafkajs');
  });

  it('names the variable and what was expected when a value is wrong', () => {
    expect(() => readBaseConfig({}, 'svc', 1)).toThrow('KAFKA_BROKERS must list at least one broker (host:port[,host:port...]), got nothing');
    expect(() => readBaseConfig({ KAFKA_BROKERS: 'nohostport' }, 'svc', 1)).toThrow('KAFKA_BROKERS entries must be host:port, got "nohostport"');
    expect(() => readBaseConfig({ KAFKA_BROKERS: 'k:1', KAFKA_FETCH_BYTES_PER_PARTITION: '1000' }, 'svc', 1)).toThrow('KAFKA_FETCH_BYTES_PER_PARTITION must be ≥ 65536, got 1000');
    expect(() => readBaseConfig({ KAFKA_BROKERS: 'k:1', KAFKA_FETCH_BYTES_PER_PARTITION: '1MB' }, 'svc', 1)).toThrow('KAFKA_FETCH_BYTES_PER_PARTITION must be an integer, got "1MB"');
    expect(() => readBaseConfig({ KAFKA_BROKERS: 'k:1', KAFKA_CLIENT: 'rdkafka' }, 'svc', 1)).toThrow('KAFKA_CLIENT must be one of kafkajs, platformatic, got "rdkafka"');
  });

  describe('Kafka TLS and SASL (the deploy manifests\' contract)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-spec-'));
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const caFile = join(dir, 'ca.crt');
    writeFileSync(caFile, pem);
    const notPem = join(dir, 'ca.txt');
    writeFileSync(notPem, 'hello');
    const read = (env: Record<string, string>) => readBaseConfig({ KAFKA_BROKERS: 'k:9093', ...env }, 'ml-trainer', 1);

    it('reads none by default: plaintext, no login', () => {
      const c = read({});
      expect([c.kafkaSsl, c.kafkaSasl]).toEqual([undefined, undefined]);
      expect(read({ KAFKA_SSL: 'false' }).kafkaSsl).toBeUndefined();
    });

    it('reads the CA file once at start and the SCRAM login, as the manifests set them', () => {
      const c = read({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: caFile, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'ml-trainer', KAFKA_SASL_PASSWORD: 's3cret' });
      expect({ ssl: c.kafkaSsl, sasl: c.kafkaSasl }).toEqual({ ssl: { ca: pem }, sasl: { mechanism: 'scram-sha-512', username: 'ml-trainer', password: 's3cret' } });
      expect(read({ KAFKA_SSL: 'true' }).kafkaSsl).toEqual({});
      expect(read({ KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }).kafkaSasl).toEqual({ mechanism: 'scram-sha-256', username: 'u', password: 'p' });
      expect(read({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }).kafkaSasl!.mechanism).toBe('plain');
    });

    it('fails start-up on an incomplete or contradictory combination, naming the variable and never the password', () => {
      const failure = (env: Record<string, string>) => {
        try {
          read(env);
        } catch (e) {
          return (e as Error).message;
        }
        return 'no error';
      };
      const failures = [
        failure({ KAFKA_SSL: 'yes' }),
        failure({ KAFKA_SSL_CA_FILE: caFile }),
        failure({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: join(dir, 'missing.crt') }),
        failure({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: notPem }),
        failure({ KAFKA_SASL_MECHANISM: 'scram-sha-512' }),
        failure({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u' }),
        failure({ KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'hunter2' }),
        failure({ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'hunter2' }),
        failure({ KAFKA_SASL_PASSWORD: 'hunter2' }),
      ];
      expect(failures).toEqual([
        'KAFKA_SSL must be true or false, got "yes"',
        `KAFKA_SSL_CA_FILE is set ("${caFile}") but KAFKA_SSL is not true: a CA is only used with TLS`,
        `KAFKA_SSL_CA_FILE must be a readable PEM file, got "${join(dir, 'missing.crt')}": ENOENT`,
        `KAFKA_SSL_CA_FILE must hold at least one PEM certificate (-----BEGIN CERTIFICATE-----), got "${notPem}" without one`,
        'KAFKA_SASL_USERNAME must be set when KAFKA_SASL_MECHANISM is (scram-sha-512), got nothing',
        'KAFKA_SASL_PASSWORD must be set when KAFKA_SASL_MECHANISM is (scram-sha-512), got nothing',
        'KAFKA_SASL_MECHANISM must be one of scram-sha-512, scram-sha-256, plain, got "gssapi"',
        'KAFKA_SASL_MECHANISM must be set when KAFKA_SASL_USERNAME is, got nothing',
        'KAFKA_SASL_MECHANISM must be set when KAFKA_SASL_PASSWORD is, got nothing',
      ]);
      expect(failures.join('\n')).not.toContain('hunter2');
    });
  });
});

describe('readTopicRetention (KAFKA_RETENTION_*)', () => {
  const week = 604_800_000;
  const gib16 = 17_179_869_184;
  const retained = [
    'events.analytics',
    'events.devices',
    'events.reality',
    'events.errors',
    'events.metrics',
    'events.user',
    'pipeline.deadletter',
    'pipeline.ml.commands',
    'pipeline.batch.commands',
    'pipeline.batch.tasks',
  ];
  const failure = (env: Record<string, string>) => {
    try {
      readTopicRetention(env);
    } catch (e) {
      return (e as Error).message;
    }
    return 'no error';
  };

  it('gives every topic whose records expire 7 days and 16 GiB per partition by default, and no compacted topic any', () => {
    expect(readTopicRetention({})).toEqual(Object.fromEntries(retained.map((t) => [t, { ms: week, bytes: gib16 }])));
    expect(readBaseConfig({ KAFKA_BROKERS: 'k:1' }, 'svc', 1).topicRetention).toEqual(readTopicRetention({}));
  });

  it('sets all topics with KAFKA_RETENTION_MS/BYTES and one topic with its _<TOPIC> override, -1 meaning no limit', () => {
    const r = readTopicRetention({
      KAFKA_RETENTION_MS: '86400000',
      KAFKA_RETENTION_BYTES: '-1',
      KAFKA_RETENTION_BYTES_EVENTS_METRICS: '21474836480',
      KAFKA_RETENTION_MS_PIPELINE_DEADLETTER: '-1',
      KAFKA_RETENTION_MS_PIPELINE_BATCH_TASKS: '',
    });
    expect(r['events.metrics']).toEqual({ ms: 86_400_000, bytes: 21_474_836_480 });
    expect(r['events.devices']).toEqual({ ms: 86_400_000, bytes: -1 });
    expect(r['pipeline.deadletter']).toEqual({ ms: -1, bytes: -1 });
    expect(r['pipeline.batch.tasks']).toEqual({ ms: 86_400_000, bytes: -1 });
  });

  it('fails start-up naming the variable for a bad value, a typo in the topic or a compacted topic', () => {
    expect([
      failure({ KAFKA_RETENTION_MS: '7d' }),
      failure({ KAFKA_RETENTION_MS: '1000' }),
      failure({ KAFKA_RETENTION_BYTES: '0' }),
      failure({ KAFKA_RETENTION_BYTES_EVENTS_METRICS: '1.5e9' }),
      failure({ KAFKA_RETENTION_MS_EVENTS_METRIC: '3600000' }),
      failure({ KAFKA_RETENTION_BYTES_PIPELINE_ML_MODELS: '1073741824' }),
    ]).toEqual([
      'KAFKA_RETENTION_MS must be -1 (no limit) or an integer ≥ 60000 (ms), got "7d"',
      'KAFKA_RETENTION_MS must be -1 (no limit) or an integer ≥ 60000 (ms), got "1000"',
      'KAFKA_RETENTION_BYTES must be -1 (no limit) or an integer ≥ 1048576 (bytes per partition), got "0"',
      'KAFKA_RETENTION_BYTES_EVENTS_METRICS must be -1 (no limit) or an integer ≥ 1048576 (bytes per partition), got "1.5e9"',
      'KAFKA_RETENTION_MS_EVENTS_METRIC names no topic with retention (compacted topics have none); expected KAFKA_RETENTION_MS_ followed by one of ' +
        'EVENTS_ANALYTICS, EVENTS_DEVICES, EVENTS_REALITY, EVENTS_ERRORS, EVENTS_METRICS, EVENTS_USER, PIPELINE_DEADLETTER, PIPELINE_ML_COMMANDS, PIPELINE_BATCH_COMMANDS, PIPELINE_BATCH_TASKS',
      'KAFKA_RETENTION_BYTES_PIPELINE_ML_MODELS names no topic with retention (compacted topics have none); expected KAFKA_RETENTION_BYTES_ followed by one of ' +
        'EVENTS_ANALYTICS, EVENTS_DEVICES, EVENTS_REALITY, EVENTS_ERRORS, EVENTS_METRICS, EVENTS_USER, PIPELINE_DEADLETTER, PIPELINE_ML_COMMANDS, PIPELINE_BATCH_COMMANDS, PIPELINE_BATCH_TASKS',
    ]);
    expect(() => readBaseConfig({ KAFKA_BROKERS: 'k:1', KAFKA_RETENTION_MS: '7d' }, 'svc', 1)).toThrow(ConfigError);
  });
});

describe('envPemFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'config-spec-pem-'));
  const keyFile = join(dir, 'key.pem');
  writeFileSync(keyFile, 'PEM TEXT');
  const parse = (pem: string, source: string) => {
    if (pem !== 'PEM TEXT') throw new Error(`${source} must hold a key`);
    return { pem, source };
  };

  it('is undefined when the variable is not set, and otherwise parses the file with a label naming variable and path', () => {
    expect(envPemFile({}, 'KEY_FILE', parse)).toBeUndefined();
    expect(envPemFile({ KEY_FILE: '' }, 'KEY_FILE', parse)).toBeUndefined();
    expect(envPemFile({ KEY_FILE: keyFile }, 'KEY_FILE', parse)).toEqual({ pem: 'PEM TEXT', source: `KEY_FILE (${keyFile})` });
  });

  it('fails with a ConfigError naming the variable when the file is unreadable or its parse fails', () => {
    const missing = join(dir, 'missing.pem');
    expect(() => envPemFile({ KEY_FILE: missing }, 'KEY_FILE', parse)).toThrow(new ConfigError(`KEY_FILE must name a readable PEM file, got "${missing}": ENOENT`));
    const other = join(dir, 'other.pem');
    writeFileSync(other, 'OTHER');
    expect(() => envPemFile({ KEY_FILE: other }, 'KEY_FILE', parse)).toThrow(new ConfigError(`KEY_FILE (${other}) must hold a key`));
    expect(() => envPemFile({ KEY_FILE: other }, 'KEY_FILE', parse)).toThrow(ConfigError);
  });
});
