import { readBaseConfig } from './config';

describe('readBaseConfig', () => {
  it('reads the Kafka settings with their defaults', () => {
    const c = readBaseConfig({ KAFKA_BROKERS: 'k1:9092,k2:9093' }, 'svc', 8080);
    expect([c.kafkaBrokers, c.kafkaClientId, c.sessionTimeoutMs, c.fetchBytesPerPartition, c.httpPort]).toEqual([['k1:9092', 'k2:9093'], 'svc', 30_000, 8 * 1024 * 1024, 8080]);
    expect(readBaseConfig({ KAFKA_BROKERS: 'k:1', KAFKA_FETCH_BYTES_PER_PARTITION: '1048576' }, 'svc', 1).fetchBytesPerPartition).toBe(1_048_576);
    expect(readBaseConfig({ KAFKA_BROKERS: 'k:1' }, 'svc', 1).kafkaClient).toBe('kafkajs');
    expect(readBaseConfig({ KAFKA_BROKERS: 'k:1', KAFKA_CLIENT: 'platformatic' }, 'svc', 1).kafkaClient).toBe('platformatic');
  });

  it('names the variable and what was expected when a value is wrong', () => {
    expect(() => readBaseConfig({}, 'svc', 1)).toThrow('KAFKA_BROKERS must list at least one broker (host:port[,host:port...]), got nothing');
    expect(() => readBaseConfig({ KAFKA_BROKERS: 'nohostport' }, 'svc', 1)).toThrow('KAFKA_BROKERS entries must be host:port, got "nohostport"');
    expect(() => readBaseConfig({ KAFKA_BROKERS: 'k:1', KAFKA_FETCH_BYTES_PER_PARTITION: '1000' }, 'svc', 1)).toThrow('KAFKA_FETCH_BYTES_PER_PARTITION must be ≥ 65536, got 1000');
    expect(() => readBaseConfig({ KAFKA_BROKERS: 'k:1', KAFKA_FETCH_BYTES_PER_PARTITION: '1MB' }, 'svc', 1)).toThrow('KAFKA_FETCH_BYTES_PER_PARTITION must be an integer, got "1MB"');
    expect(() => readBaseConfig({ KAFKA_BROKERS: 'k:1', KAFKA_CLIENT: 'rdkafka' }, 'svc', 1)).toThrow('KAFKA_CLIENT must be one of kafkajs, platformatic, got "rdkafka"');
  });
});
