import { DeserializationError } from './errors';
import { SnapshotAssembler } from './SnapshotChunks';
import { StreamingAggregator } from './StreamingAggregator';

/**
 * The state of one input partition as the aggregator publishes it to the compacted snapshot topic
 * (key `<consumer group>/<topic>:<partition>`, so separate aggregator deployments never mix): the aggregator state after consuming every message below
 * `nextOffset`, and the partition's event-time watermark. Because the state is a deterministic
 * function of the partition's messages, any snapshot is a correct state for its prefix, and the
 * one with the highest `nextOffset` is the most recent.
 *
 * Binary layout: magic "PS" (u16) · version u8 · nextOffset as decimal string (u16 length + ASCII) ·
 * watermarkMs f64 · producedAtMs f64 · aggregator bytes (rest).
 */
export interface PartitionSnapshot {
  group: string;
  topic: string;
  partition: number;
  nextOffset: bigint;
  watermarkMs: number;
  producedAtMs: number;
  state: Uint8Array;
}

const MAGIC = 0x5053;
const VERSION = 1;

export function snapshotKey(group: string, topic: string, partition: number): string {
  return `${group}/${topic}:${partition}`;
}

export function encodePartitionSnapshot(s: Omit<PartitionSnapshot, 'group' | 'topic' | 'partition'>): Buffer {
  return Buffer.concat([partitionSnapshotHeader(s), s.state]);
}

/** The bytes `encodePartitionSnapshot` puts before the state (so a caller can chunk header + state without joining them first). */
export function partitionSnapshotHeader(s: Omit<PartitionSnapshot, 'group' | 'topic' | 'partition' | 'state'>): Buffer {
  const off = Buffer.from(s.nextOffset.toString(), 'ascii');
  const head = Buffer.alloc(2 + 1 + 2 + off.length + 16);
  let p = head.writeUInt16BE(MAGIC, 0);
  p = head.writeUInt8(VERSION, p);
  p = head.writeUInt16BE(off.length, p);
  p += off.copy(head, p);
  p = head.writeDoubleBE(s.watermarkMs, p);
  head.writeDoubleBE(s.producedAtMs, p);
  return head;
}

export function decodePartitionSnapshot(key: string, bytes: Buffer): PartitionSnapshot {
  const slash = key.indexOf('/');
  const sep = key.lastIndexOf(':');
  const partition = Number(key.slice(sep + 1));
  if (slash <= 0 || sep <= slash + 1 || !Number.isInteger(partition)) throw new DeserializationError(`snapshot key must be <group>/<topic>:<partition>, got "${key}"`);
  if (bytes.length < 21 || bytes.readUInt16BE(0) !== MAGIC) throw new DeserializationError('not a partition snapshot (bad magic)');
  const version = bytes.readUInt8(2);
  if (version !== VERSION) throw new DeserializationError(`unsupported partition snapshot version ${version} (expected ${VERSION})`);
  const len = bytes.readUInt16BE(3);
  const nextOffset = BigInt(bytes.toString('ascii', 5, 5 + len));
  const p = 5 + len;
  if (bytes.length < p + 16) throw new DeserializationError('partition snapshot is truncated');
  return {
    group: key.slice(0, slash),
    topic: key.slice(slash + 1, sep),
    partition,
    nextOffset,
    watermarkMs: bytes.readDoubleBE(p),
    producedAtMs: bytes.readDoubleBE(p + 8),
    state: new Uint8Array(bytes.buffer, bytes.byteOffset + p + 16, bytes.length - p - 16),
  };
}

/**
 * The merged picture across partitions and replicas, as the gateway serves it: keeps the most
 * advanced snapshot per partition, deserializes each once, and merges them on demand (cached
 * until a snapshot changes). Pure: the caller feeds snapshots and passes the clock to queries.
 */
export class AggregateView {
  private readonly partitions = new Map<string, { snapshot: PartitionSnapshot; agg: StreamingAggregator }>();
  private merged: StreamingAggregator | undefined;
  private readonly assembler: SnapshotAssembler;

  /** `group`: the aggregator deployment whose snapshot-topic messages `feed` takes (default: any). */
  constructor(options: { group?: string; onError?: (err: unknown, key: string) => void } = {}) {
    this.assembler = new SnapshotAssembler(options.group, options.onError ?? (() => undefined));
  }

  /** Feeds one raw message of the snapshot topic (chunks are reassembled; null value: tombstone). */
  feed(key: string | null, value: Buffer | null | undefined): void {
    const snapshot = this.assembler.add(key, value);
    if (snapshot) this.apply(`${snapshot.group}/${snapshot.topic}:${snapshot.partition}`, snapshot);
  }

  /** Applies a snapshot; returns false if an equally or more advanced one is already held. */
  apply(key: string, snapshot: PartitionSnapshot): boolean {
    const current = this.partitions.get(key);
    if (current && current.snapshot.nextOffset >= snapshot.nextOffset) return false;
    this.partitions.set(key, { snapshot, agg: StreamingAggregator.deserialize(snapshot.state) });
    this.merged = undefined;
    return true;
  }

  /** Every partition merged into one aggregator (do not mutate it). Undefined when nothing arrived yet. */
  aggregate(): StreamingAggregator | undefined {
    if (this.merged) return this.merged;
    // Merge in key order, not arrival order: floating-point sums depend on the order, and every
    // reader (any gateway replica, one aggregator or three) must show the same numbers.
    let merged: StreamingAggregator | undefined;
    for (const key of [...this.partitions.keys()].sort()) {
      const { snapshot, agg } = this.partitions.get(key)!;
      if (!merged) merged = StreamingAggregator.deserialize(snapshot.state);
      else merged.merge(agg);
    }
    this.merged = merged;
    return merged;
  }

}
