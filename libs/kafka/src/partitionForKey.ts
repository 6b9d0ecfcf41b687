/**
 * Kafka's default partitioner for keyed messages: murmur2(key bytes) & 0x7fffffff mod n. The same
 * function as the Java client and kafkajs's DefaultPartitioner, so the in-memory bus places keys
 * on the same partitions a real broker would.
 */
export function partitionForKey(key: string, numPartitions: number): number {
  return (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % numPartitions;
}

/** Kafka's murmur2 (signed 32-bit result), as org.apache.kafka.common.utils.Utils.murmur2. */
export function murmur2(data: Buffer): number {
  const length = data.length;
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  let h = seed ^ length;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4]! & 0xff) + ((data[i4 + 1]! & 0xff) << 8) + ((data[i4 + 2]! & 0xff) << 16) + ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = length % 4;
  const off = length & ~3;
  if (rest === 3) h ^= (data[off + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[off + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[off]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h;
}
