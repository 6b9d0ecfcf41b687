import { LiveStateFormatError } from './errors';

/**
 * Values of the state topic's keys (see liveStateKeys.ts).
 *
 * Marker, written last in a round, once every series entry of the round was acknowledged:
 *   magic "LM" (u16) · version u8 · round · nextOffset (each a decimal string: u16 length + ASCII) ·
 *   watermarkMs f64 · producedAtMs f64 · shared state (the rest: `StreamingAggregator.serializeShared`).
 * Series entry:
 *   magic "LS" (u16) · version u8 · round (decimal string) · kind u8 (1 state, 0 deleted) ·
 *   series state (the rest: `StreamingAggregator.serializeSeries`; empty when deleted).
 *
 * Rounds number a partition's snapshot rounds (1, 2, …, never reused: a new owner continues above
 * every round it saw). A series entry belongs to the committed state if its round is the highest of
 * its two slots that is ≤ the marker's round; entries above it are from a round not (yet) committed.
 */
export interface PartitionMarker {
  round: bigint;
  /** Every input message below this offset is in the state. */
  nextOffset: bigint;
  watermarkMs: number;
  producedAtMs: number;
  shared: Uint8Array;
}

export interface SeriesEntry {
  round: bigint;
  /** Undefined: the series was deleted in this round. */
  state: Uint8Array | undefined;
}

const MARKER_MAGIC = 0x4c4d;
const ENTRY_MAGIC = 0x4c53;
const VERSION = 1;

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

function checkHead(bytes: Buffer, magic: number, what: string): void {
  if (bytes.length < 3 || bytes.readUInt16BE(0) !== magic) throw new LiveStateFormatError(`not a ${what} (bad magic)`);
  const version = bytes.readUInt8(2);
  if (version !== VERSION) throw new LiveStateFormatError(`unsupported ${what} version ${version} (expected ${VERSION})`);
}

export function encodeMarker(m: PartitionMarker): Buffer {
  const head = Buffer.alloc(3);
  head.writeUInt16BE(MARKER_MAGIC, 0);
  head.writeUInt8(VERSION, 2);
  const times = Buffer.alloc(16);
  times.writeDoubleBE(m.watermarkMs, 0);
  times.writeDoubleBE(m.producedAtMs, 8);
  return Buffer.concat([head, decimal(m.round), decimal(m.nextOffset), times, m.shared]);
}

export function decodeMarker(bytes: Buffer): PartitionMarker {
  checkHead(bytes, MARKER_MAGIC, 'partition marker');
  const [round, p1] = readDecimal(bytes, 3, 'partition marker');
  const [nextOffset, p2] = readDecimal(bytes, p1, 'partition marker');
  if (bytes.length < p2 + 16) throw new LiveStateFormatError('partition marker is truncated');
  return { round, nextOffset, watermarkMs: bytes.readDoubleBE(p2), producedAtMs: bytes.readDoubleBE(p2 + 8), shared: bytes.subarray(p2 + 16) };
}

export function encodeSeriesEntry(e: SeriesEntry): Buffer {
  // One allocation per entry: a round of 10,000 changed series writes 10,000 of them.
  const round = e.round.toString();
  const state = e.state ?? EMPTY;
  const out = Buffer.allocUnsafe(3 + 2 + round.length + 1 + state.length);
  out.writeUInt16BE(ENTRY_MAGIC, 0);
  out.writeUInt8(VERSION, 2);
  out.writeUInt16BE(round.length, 3);
  out.write(round, 5, 'ascii');
  out.writeUInt8(e.state ? 1 : 0, 5 + round.length);
  out.set(state, 6 + round.length);
  return out;
}

const EMPTY = new Uint8Array(0);

export function decodeSeriesEntry(bytes: Buffer): SeriesEntry {
  checkHead(bytes, ENTRY_MAGIC, 'series entry');
  const [round, p] = readDecimal(bytes, 3, 'series entry');
  if (bytes.length < p + 1) throw new LiveStateFormatError('series entry is truncated');
  const kind = bytes.readUInt8(p);
  if (kind > 1) throw new LiveStateFormatError(`series entry kind must be 0 (deleted) or 1 (state), got ${kind}`);
  return { round, state: kind === 1 ? bytes.subarray(p + 1) : undefined };
}
