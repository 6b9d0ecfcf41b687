import { DeserializationError, InvalidArgumentError } from './errors';
import { decodePartitionSnapshot, type PartitionSnapshot } from './PartitionSnapshot';

/**
 * Partition snapshots travel as chunks, so a partition state of any size fits Kafka's message
 * limits (10,000 busy series are ~31 MB, 3.1 KB each; a topic takes 16 MiB messages here, 1 MiB by default).
 *
 * A snapshot round of one input partition writes the encoded snapshot (`encodePartitionSnapshot`)
 * as chunks `<base key>#<set>.<index>`, each with a header naming the round (the snapshot's
 * `nextOffset`), its index and the chunk count. Rounds alternate between chunk sets 0 and 1, and
 * the writer switches sets only after a round was fully acknowledged: a crash halfway through a
 * round leaves the previous round's set intact (compaction only replaces messages with the same
 * key), so a reader can always assemble the last complete round. That keeps the aggregator's
 * exactly-once recovery (offsets are committed after the whole round is acknowledged).
 *
 * Chunk layout: magic "PC" (u16) · version u8 · set u8 · index u32 · count u32 · nextOffset as
 * decimal string (u16 length + ASCII) · payload (the rest).
 */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

const MAGIC = 0x5043;
const VERSION = 1;

export type ChunkSet = 0 | 1;

export interface SnapshotChunkMessage {
  key: string;
  /** Empty: a tombstone for a chunk index the set no longer uses. */
  value: Buffer;
}

export function snapshotChunkKey(baseKey: string, set: ChunkSet, index: number): string {
  return `${baseKey}#${set}.${index}`;
}

/**
 * The messages of one round: the chunks of `encoded` (an `encodePartitionSnapshot` buffer, or its
 * consecutive parts — e.g. `[partitionSnapshotHeader(…), state]`, which saves joining them) in
 * `set`, plus tombstones for the indices `count … previousCount − 1` that an earlier, larger round
 * left in that set.
 */
export function encodeSnapshotChunks(
  baseKey: string,
  encoded: Uint8Array | readonly Uint8Array[],
  nextOffset: bigint,
  set: ChunkSet,
  opts: { chunkBytes?: number; previousCount?: number } = {},
): SnapshotChunkMessage[] {
  const chunkBytes = opts.chunkBytes ?? SNAPSHOT_CHUNK_BYTES;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) throw new InvalidArgumentError(`chunkBytes must be a positive integer, got ${String(chunkBytes)}`);
  const parts = encoded instanceof Uint8Array ? [encoded] : encoded;
  const total = parts.reduce((n, part) => n + part.length, 0);
  const count = Math.max(1, Math.ceil(total / chunkBytes));
  const off = Buffer.from(nextOffset.toString(), 'ascii');
  const out: SnapshotChunkMessage[] = [];
  for (let index = 0; index < count; index++) {
    const head = Buffer.alloc(2 + 1 + 1 + 4 + 4 + 2 + off.length);
    let p = head.writeUInt16BE(MAGIC, 0);
    p = head.writeUInt8(VERSION, p);
    p = head.writeUInt8(set, p);
    p = head.writeUInt32BE(index, p);
    p = head.writeUInt32BE(count, p);
    p = head.writeUInt16BE(off.length, p);
    off.copy(head, p);
    out.push({ key: snapshotChunkKey(baseKey, set, index), value: Buffer.concat([head, ...slice(parts, index * chunkBytes, Math.min(total, (index + 1) * chunkBytes))]) });
  }
  for (let index = count; index < (opts.previousCount ?? 0); index++) out.push({ key: snapshotChunkKey(baseKey, set, index), value: Buffer.alloc(0) });
  return out;
}

/** Views of bytes [from, to) of the concatenation of `parts` (no copy). */
function slice(parts: readonly Uint8Array[], from: number, to: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  for (const part of parts) {
    const lo = Math.max(from, pos);
    const hi = Math.min(to, pos + part.length);
    if (lo < hi) out.push(part.subarray(lo - pos, hi - pos));
    pos += part.length;
  }
  return out;
}

interface Chunk {
  set: ChunkSet;
  index: number;
  count: number;
  nextOffset: bigint;
  payload: Buffer;
}

function decodeChunk(bytes: Buffer): Chunk {
  if (bytes.length < 14 || bytes.readUInt16BE(0) !== MAGIC) throw new DeserializationError('not a snapshot chunk (bad magic)');
  const version = bytes.readUInt8(2);
  if (version !== VERSION) throw new DeserializationError(`unsupported snapshot chunk version ${version} (expected ${VERSION})`);
  const set = bytes.readUInt8(3);
  const index = bytes.readUInt32BE(4);
  const count = bytes.readUInt32BE(8);
  const len = bytes.readUInt16BE(12);
  if (set > 1 || count < 1 || index >= count || bytes.length < 14 + len) throw new DeserializationError(`snapshot chunk header is invalid (set ${set}, chunk ${index} of ${count})`);
  return { set: set as ChunkSet, index, count, nextOffset: BigInt(bytes.toString('ascii', 14, 14 + len)), payload: bytes.subarray(14 + len) };
}

interface PendingSet {
  nextOffset: bigint;
  count: number;
  /** Payloads (undefined: not seen; `SEEN`: seen, payload not kept because the key was not retained). */
  chunks: (Buffer | undefined)[];
  have: number;
}

const SEEN = Buffer.alloc(0);

/** What is known of a partition's last complete round, with or without its payload. */
export interface SnapshotRound {
  nextOffset: bigint;
  /** The chunk set holding it (undefined: an un-chunked snapshot); a writer's next round must use the other. */
  set: ChunkSet | undefined;
}

export interface SnapshotAssemblerOptions {
  /**
   * Whether to keep the payload of `baseKey`'s snapshots (default: all). Evaluated as chunks
   * arrive and when a round completes; for other keys only the round (`known`) is tracked, so
   * e.g. an aggregator does not hold copies of the snapshots it writes itself.
   */
  retain?: (baseKey: string) => boolean;
}

/**
 * Reassembles the snapshots of one aggregator deployment (consumer group `group`; undefined: any)
 * from the snapshot topic, read in any order: feed it every message (`add`), and it returns each
 * partition snapshot it completes that is more advanced (higher `nextOffset`) than the one it
 * holds. Keys of other groups are ignored; undecodable messages go to `onError` and never stop the
 * reader. Pure (no I/O). Un-chunked snapshots (key `<group>/<topic>:<partition>`, as written before
 * chunking) are read as complete rounds.
 */
export class SnapshotAssembler {
  private readonly prefix: string;
  private readonly retain: (baseKey: string) => boolean;
  private readonly complete = new Map<string, PartitionSnapshot>();
  private readonly rounds = new Map<string, SnapshotRound>();
  private readonly pending = new Map<string, [PendingSet | undefined, PendingSet | undefined]>();

  constructor(
    group: string | undefined,
    private readonly onError: (err: unknown, key: string) => void,
    options: SnapshotAssemblerOptions = {},
  ) {
    this.prefix = group === undefined ? '' : `${group}/`;
    this.retain = options.retain ?? (() => true);
  }

  /** Feeds one message (an empty or null value is a tombstone). Returns a newly completed, retained snapshot. */
  add(key: string | null, value: Buffer | null | undefined): PartitionSnapshot | undefined {
    if (!key?.startsWith(this.prefix)) return undefined;
    try {
      const hash = key.lastIndexOf('#');
      if (hash < 0) {
        if (!value || value.length === 0) return undefined;
        return this.offer(key, decodePartitionSnapshot(key, value), undefined);
      }
      const base = key.slice(0, hash);
      if (!value || value.length === 0) {
        this.dropChunk(base, key.slice(hash + 1));
        return undefined;
      }
      const chunk = decodeChunk(value);
      if (key !== snapshotChunkKey(base, chunk.set, chunk.index)) throw new DeserializationError(`snapshot chunk key "${key}" does not match its header (set ${chunk.set}, chunk ${chunk.index})`);
      const known = this.rounds.get(base);
      if (known && known.nextOffset >= chunk.nextOffset) return undefined;
      let sets = this.pending.get(base);
      if (!sets) this.pending.set(base, (sets = [undefined, undefined]));
      let p = sets[chunk.set];
      if (p && p.nextOffset > chunk.nextOffset) return undefined; // a stale chunk of an older round
      if (!p || p.nextOffset < chunk.nextOffset || p.count !== chunk.count) {
        p = { nextOffset: chunk.nextOffset, count: chunk.count, chunks: new Array<Buffer | undefined>(chunk.count), have: 0 };
        sets[chunk.set] = p;
      }
      if (p.chunks[chunk.index] === undefined) p.have++;
      p.chunks[chunk.index] = this.retain(base) ? chunk.payload : SEEN;
      if (p.have < p.count) return undefined;
      sets[chunk.set] = undefined;
      if (!sets[0] && !sets[1]) this.pending.delete(base);
      if (p.chunks.some((c) => c === SEEN) || !this.retain(base)) {
        this.complete.delete(base);
        this.rounds.set(base, { nextOffset: p.nextOffset, set: chunk.set });
        return undefined;
      }
      const snapshot = decodePartitionSnapshot(base, Buffer.concat(p.chunks as Buffer[]));
      if (snapshot.nextOffset !== p.nextOffset) throw new DeserializationError(`snapshot chunks of round ${p.nextOffset} hold a snapshot at offset ${snapshot.nextOffset}`);
      return this.offer(base, snapshot, chunk.set);
    } catch (err) {
      this.onError(err, key);
      return undefined;
    }
  }

  /** The most advanced complete snapshot of `baseKey` (`<group>/<topic>:<partition>`), if its payload is held. */
  get(baseKey: string): PartitionSnapshot | undefined {
    return this.complete.get(baseKey);
  }

  /** The last complete round of `baseKey`, whether or not its payload is held. */
  known(baseKey: string): SnapshotRound | undefined {
    return this.rounds.get(baseKey);
  }

  /** Drops the payload held for `baseKey` (its round stays `known`). */
  release(baseKey: string): void {
    this.complete.delete(baseKey);
  }

  /** Partitions with a complete round. */
  get size(): number {
    return this.rounds.size;
  }

  private offer(base: string, snapshot: PartitionSnapshot, set: ChunkSet | undefined): PartitionSnapshot | undefined {
    const known = this.rounds.get(base);
    if (known && known.nextOffset >= snapshot.nextOffset) return undefined;
    this.rounds.set(base, { nextOffset: snapshot.nextOffset, set });
    if (!this.retain(base)) {
      this.complete.delete(base);
      return undefined;
    }
    this.complete.set(base, snapshot);
    return snapshot;
  }

  private dropChunk(base: string, suffix: string): void {
    const [set, index] = suffix.split('.').map(Number);
    const p = this.pending.get(base)?.[set === 1 ? 1 : 0];
    if (p && p.chunks[index!] !== undefined) {
      p.chunks[index!] = undefined;
      p.have--;
    }
  }
}
