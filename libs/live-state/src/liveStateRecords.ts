import { LiveStateFormatError } from './errors';

/**
 * Values of the state topic's keys (see liveStateKeys.ts).
 *
 * Marker, written last in a round, once every series entry of the round was acknowledged (and by a
 * new owner as its claim, see ExactlyOnceState):
 *   magic "LM" (u16) · version u8 · round · nextOffset · epoch · entryEpoch (each a decimal string:
 *   u16 length + ASCII) · watermarkMs f64 · producedAtMs f64 · shared state (the rest:
 *   `StreamingAggregator.serializeShared`).
 * Series entry (version 3):
 *   magic "LS" (u16) · version u8 · round · epoch (decimal strings) · principal (u16 byte length +
 *   UTF-8; length 0: none) · kind u8 (1 state, 0 deleted) · series state (the rest:
 *   `StreamingAggregator.serializeSeries`; empty when deleted).
 *
 * Version 1 (before fencing) had no epochs: it reads as epoch 0 and entry epoch 0, so a state
 * written by an older aggregator restores as it was. Series entries of version 2 (before
 * principals) read as series of no principal. Markers are written as version 2, series entries as 3.
 *
 * Rounds number a partition's snapshot rounds (1, 2, …, never reused: a new owner continues above
 * every round it saw). Epochs number its owners (each new owner claims one above every epoch it saw).
 * A series entry belongs to the committed state if it was written in the marker's `entryEpoch` and
 * its round is the highest of its two slots that is ≤ the marker's round; other entries are from a
 * round not (yet) committed, or from a fenced (stale) owner.
 */
export interface PartitionMarker {
  round: bigint;
  /** The owner that wrote it (0: written before fencing). A marker replaces the one held only if (epoch, round) is higher. */
  epoch: bigint;
  /** The epoch whose series entries it commits: its own, except in a claim, which commits what the previous owner did. */
  entryEpoch: bigint;
  /** Every input message below this offset is in the state. */
  nextOffset: bigint;
  watermarkMs: number;
  producedAtMs: number;
  shared: Uint8Array;
}

export interface SeriesEntry {
  round: bigint;
  /** The owner that wrote it (0: written before fencing). */
  epoch: bigint;
  /**
   * Who created the series (`StreamingAggregator.seriesPrincipal`, e.g. an API key's
   * `key:1a2b3c4d5e6f`); undefined: unknown (a producer without one, or written before version 3).
   */
  principal?: string;
  /** Undefined: the series was deleted in this round. */
  state: Uint8Array | undefined;
}

const MARKER_MAGIC = 0x4c4d;
const ENTRY_MAGIC = 0x4c53;
const VERSION = 2;
/** Records without epochs (read as epoch 0). */
const VERSION_NO_EPOCH = 1;
/** Series entries with a principal. */
const ENTRY_VERSION = 3;
/** The longest principal an entry holds (bytes of UTF-8); a longer one is written as none. */
export const MAX_PRINCIPAL_BYTES = 256;

function decimal(n: bigint): Buffer {
  const text = Buffer.from(n.toString(), 'ascii');
  const out = Buffer.alloc(2 + text.length);
  out.writeUInt16BE(text.length, 0);
  text.copy(out, 2);
  return out;
}

function readDecimal(bytes: Buffer, at: number, what: string): [bigint, number] {
  if (bytes.length < at + 2) throw new LiveStateFormatError(`${what} is truncated`);
  const len = bytes.readUInt16BE(at);
  if (bytes.length < at + 2 + len) throw new LiveStateFormatError(`${what} is truncated`);
  const text = bytes.toString('ascii', at + 2, at + 2 + len);
  if (!/^\d+$/.test(text)) throw new LiveStateFormatError(`${what} holds "${text}" where a decimal number belongs`);
  return [BigInt(text), at + 2 + len];
}

/** The record's version (1 to `newest`). */
function checkHead(bytes: Buffer, magic: number, what: string, newest: number): number {
  if (bytes.length < 3 || bytes.readUInt16BE(0) !== magic) throw new LiveStateFormatError(`not a ${what} (bad magic)`);
  const version = bytes.readUInt8(2);
  if (version < VERSION_NO_EPOCH || version > newest) throw new LiveStateFormatError(`unsupported ${what} version ${version} (expected ${VERSION_NO_EPOCH} to ${newest})`);
  return version;
}

/** Epochs default to 0 (as a record written before fencing reads). */
type WithOptionalEpochs<T> = Omit<T, 'epoch' | 'entryEpoch'> & Partial<Pick<PartitionMarker, 'epoch' | 'entryEpoch'>>;

export function encodeMarker(m: WithOptionalEpochs<PartitionMarker>): Buffer {
  const head = Buffer.alloc(3);
  head.writeUInt16BE(MARKER_MAGIC, 0);
  head.writeUInt8(VERSION, 2);
  const times = Buffer.alloc(16);
  times.writeDoubleBE(m.watermarkMs, 0);
  times.writeDoubleBE(m.producedAtMs, 8);
  const epoch = m.epoch ?? 0n;
  return Buffer.concat([head, decimal(m.round), decimal(m.nextOffset), decimal(epoch), decimal(m.entryEpoch ?? epoch), times, m.shared]);
}

export function decodeMarker(bytes: Buffer): PartitionMarker {
  const version = checkHead(bytes, MARKER_MAGIC, 'partition marker', VERSION);
  const [round, p1] = readDecimal(bytes, 3, 'partition marker');
  const [nextOffset, afterOffset] = readDecimal(bytes, p1, 'partition marker');
  let p2 = afterOffset;
  let epoch = 0n;
  let entryEpoch = 0n;
  if (version === VERSION) {
    [epoch, p2] = readDecimal(bytes, p2, 'partition marker');
    [entryEpoch, p2] = readDecimal(bytes, p2, 'partition marker');
  }
  if (bytes.length < p2 + 16) throw new LiveStateFormatError('partition marker is truncated');
  return { round, nextOffset, epoch, entryEpoch, watermarkMs: bytes.readDoubleBE(p2), producedAtMs: bytes.readDoubleBE(p2 + 8), shared: bytes.subarray(p2 + 16) };
}

export function encodeSeriesEntry(e: Omit<SeriesEntry, 'epoch'> & Partial<Pick<SeriesEntry, 'epoch'>>): Buffer {
  // One allocation per entry: a round of 10,000 changed series writes 10,000 of them.
  const round = e.round.toString();
  const epoch = (e.epoch ?? 0n).toString();
  const state = e.state ?? EMPTY;
  let principalBytes = e.principal === undefined ? 0 : Buffer.byteLength(e.principal, 'utf8');
  if (principalBytes > MAX_PRINCIPAL_BYTES) principalBytes = 0;
  const out = Buffer.allocUnsafe(3 + 2 + round.length + 2 + epoch.length + 2 + principalBytes + 1 + state.length);
  out.writeUInt16BE(ENTRY_MAGIC, 0);
  out.writeUInt8(ENTRY_VERSION, 2);
  let at = 3;
  for (const text of [round, epoch]) {
    out.writeUInt16BE(text.length, at);
    out.write(text, at + 2, 'ascii');
    at += 2 + text.length;
  }
  out.writeUInt16BE(principalBytes, at);
  if (principalBytes > 0) out.write(e.principal!, at + 2, 'utf8');
  at += 2 + principalBytes;
  out.writeUInt8(e.state ? 1 : 0, at);
  out.set(state, at + 1);
  return out;
}

const EMPTY = new Uint8Array(0);

export function decodeSeriesEntry(bytes: Buffer): SeriesEntry {
  const version = checkHead(bytes, ENTRY_MAGIC, 'series entry', ENTRY_VERSION);
  const [round, afterRound] = readDecimal(bytes, 3, 'series entry');
  let p = afterRound;
  let epoch = 0n;
  if (version >= VERSION) [epoch, p] = readDecimal(bytes, p, 'series entry');
  let principal: string | undefined;
  if (version >= ENTRY_VERSION) {
    if (bytes.length < p + 2) throw new LiveStateFormatError('series entry is truncated');
    const len = bytes.readUInt16BE(p);
    if (bytes.length < p + 2 + len) throw new LiveStateFormatError('series entry is truncated');
    if (len > 0) principal = bytes.toString('utf8', p + 2, p + 2 + len);
    p += 2 + len;
  }
  if (bytes.length < p + 1) throw new LiveStateFormatError('series entry is truncated');
  const kind = bytes.readUInt8(p);
  if (kind > 1) throw new LiveStateFormatError(`series entry kind must be 0 (deleted) or 1 (state), got ${kind}`);
  const state = kind === 1 ? bytes.subarray(p + 1) : undefined;
  return principal === undefined ? { round, epoch, state } : { round, epoch, principal, state };
}
