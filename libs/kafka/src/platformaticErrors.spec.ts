import type { PlatformaticKafkaModule } from './loadPlatformaticKafka';
import { toBusError } from './errors';
import { requireOutsideJest } from './__tests__/busAdapters';

// The library's own error classes (Node's copy: Jest cannot load the ES module itself).
const lib = requireOutsideJest('@platformatic/kafka') as PlatformaticKafkaModule;

describe('toBusError on @platformatic/kafka errors', () => {
  it('keeps the kinds kafkajs errors have: a missing topic or an oversized message is final, a broker that cannot be reached is not', () => {
    const unknownTopic = new lib.MultipleErrors('Producing messages failed.', [new lib.ResponseError(0, 9, { '/topics/0': [3, null] }, undefined)]);
    expect(toBusError(unknownTopic)).toMatchObject({
      retriable: false,
      message: 'Producing messages failed. (UNKNOWN_TOPIC_OR_PARTITION: This server does not host this topic-partition.)',
    });
    expect(toBusError(new lib.ProtocolError('MESSAGE_TOO_LARGE')).retriable).toBe(false);
    expect(toBusError(new lib.ProtocolError('NOT_LEADER_OR_FOLLOWER')).retriable).toBe(true);
    expect(toBusError(new lib.NetworkError('Connection to 127.0.0.1:1 failed.', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') })).retriable).toBe(true);
    // The library marks a timed-out request not retriable (it will not repeat it); a slow broker may answer later.
    expect(toBusError(new lib.TimeoutError('Request timed out.')).retriable).toBe(true);
    expect(toBusError(new lib.UserError('/options/clientId should be a string')).retriable).toBe(false);
  });

  it('calls a failure of several requests final when any cause is final, retriable when any other cause is', () => {
    const mixed = new lib.MultipleErrors('Producing messages failed.', [new lib.NetworkError('Connection closed.'), new lib.ProtocolError('UNKNOWN_TOPIC_OR_PARTITION')]);
    expect(toBusError(mixed).retriable).toBe(false);
    const transient = new lib.MultipleErrors('joinGroup failed 3 times.', [new lib.ProtocolError('REBALANCE_IN_PROGRESS'), new lib.NetworkError('Connection closed.')]);
    expect(toBusError(transient).retriable).toBe(true);
  });
});
