import type { fetchV17 } from '@platformatic/kafka';
import type { IncomingMessage } from './EventBus';

/** Bit 5 of a record batch's attributes: a transaction marker, not data (Kafka's RecordBatch). */
const IS_CONTROL = 1 << 5;
const EMPTY = Buffer.alloc(0);
const MAX_SAFE_OFFSET = BigInt(Number.MAX_SAFE_INTEGER);
const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

export interface DecodedPartition {
  messages: IncomingMessage[];
  /** Offset after the last record batch returned (records and control markers), or undefined if none. */
  nextOffset: bigint | undefined;
  /** Offset of the last data record at/after `fromOffset`, delivered or skipped; undefined if none. */
  lastOffset: bigint | undefined;
  /** Records passed over because they carry the skip header. */
  skipped: number;
}

/** A header as raw bytes: records carrying it are skipped before they are decoded into messages. */
export interface RawHeader {
  name: Buffer;
  value: Buffer;
}

/** The raw form of SubscribeOptions.skipHeader, built once per subscription. */
export const toRawHeader = (h: { name: string; value: string } | undefined): RawHeader | undefined =>
  h && { name: Buffer.from(h.name, 'utf8'), value: Buffer.from(h.value, 'utf8') };

const carries = (headers: readonly (readonly [Buffer | null, Buffer | null])[], h: RawHeader): boolean => {
  for (const [k, v] of headers) if (k && k.equals(h.name) && (v ? v.equals(h.value) : h.value.length === 0)) return true;
  return false;
};

/**
 * One partition of a Fetch response as the port's messages, in offset order. A broker answers with
 * whole record batches, so the first may start before `fromOffset`: records before it are skipped.
 * `nextOffset` moves past batches that held nothing to deliver (transaction markers, records
 * below `fromOffset`), so a reader never asks for them again. A null value (a tombstone) becomes
 * an empty Buffer, as KafkaJsBus hands it over. Records carrying `skip` are passed over (their
 * offsets still count in `lastOffset`) without building a message.
 */
export function recordsToMessages(topic: string, partition: fetchV17.FetchResponsePartition, fromOffset: bigint, skip?: RawHeader): DecodedPartition {
  const messages: IncomingMessage[] = [];
  let nextOffset: bigint | undefined;
  let lastOffset: bigint | undefined;
  let skipped = 0;
  for (const batch of partition.records ?? []) {
    const end = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
    if (nextOffset === undefined || end > nextOffset) nextOffset = end;
    if (batch.attributes & IS_CONTROL || end <= fromOffset) continue;
    // Offsets and times are added as numbers, exact below 2^53 (a partition gets there after 285
    // years at a million records a second); a batch past it is added in BigInt.
    const exact = end <= MAX_SAFE_OFFSET;
    const first = Number(batch.firstOffset);
    const from = Number(fromOffset);
    const firstTimestamp = Number(batch.firstTimestamp);
    let lastDelta = -1;
    for (const record of batch.records) {
      const offset = exact ? first + record.offsetDelta : batch.firstOffset + BigInt(record.offsetDelta);
      if (exact ? (offset as number) < from : (offset as bigint) < fromOffset) continue;
      lastDelta = record.offsetDelta;
      if (skip && record.headers.length > 0 && carries(record.headers, skip)) {
        skipped++;
        continue;
      }
      let headers = NO_HEADERS;
      if (record.headers.length > 0) {
        headers = {};
        for (const [k, v] of record.headers) if (k) headers[k.toString('utf8')] = v ? v.toString('utf8') : '';
      }
      messages.push({
        topic,
        partition: partition.partitionIndex,
        offset: String(offset),
        key: record.key === null ? null : record.key.toString('utf8'),
        value: record.value ?? EMPTY,
        timestampMs: firstTimestamp + Number(record.timestampDelta),
        headers,
      });
    }
    if (lastDelta >= 0) lastOffset = batch.firstOffset + BigInt(lastDelta);
  }
  return { messages, nextOffset, lastOffset, skipped };
}
