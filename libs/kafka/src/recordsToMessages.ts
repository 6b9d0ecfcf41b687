import type { fetchV17 } from '@platformatic/kafka';
import type { IncomingMessage } from './EventBus';

/** Bit 5 of a record batch's attributes: a transaction marker, not data (Kafka's RecordBatch). */
const IS_CONTROL = 1 << 5;
const EMPTY = Buffer.alloc(0);
const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

export interface DecodedPartition {
  messages: IncomingMessage[];
  /** Offset after the last record batch returned (records and control markers), or undefined if none. */
  nextOffset: bigint | undefined;
}

/**
 * One partition of a Fetch response as the port's messages, in offset order. A broker answers with
 * whole record batches, so the first may start before `fromOffset`: records before it are skipped.
 * `nextOffset` moves past batches that held nothing to deliver (transaction markers, records
 * below `fromOffset`), so a reader never asks for them again. A null value (a tombstone) becomes
 * an empty Buffer, as KafkaJsBus hands it over.
 */
export function recordsToMessages(topic: string, partition: fetchV17.FetchResponsePartition, fromOffset: bigint): DecodedPartition {
  const messages: IncomingMessage[] = [];
  let nextOffset: bigint | undefined;
  for (const batch of partition.records ?? []) {
    const end = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
    if (nextOffset === undefined || end > nextOffset) nextOffset = end;
    if (batch.attributes & IS_CONTROL) continue;
    for (const record of batch.records) {
      const offset = batch.firstOffset + BigInt(record.offsetDelta);
      if (offset < fromOffset) continue;
      let headers = NO_HEADERS;
      if (record.headers.length > 0) {
        headers = {};
        for (const [k, v] of record.headers) if (k) headers[k.toString('utf8')] = v ? v.toString('utf8') : '';
      }
      messages.push({
        topic,
        partition: partition.partitionIndex,
        offset: offset.toString(),
        key: record.key === null ? null : record.key.toString('utf8'),
        value: record.value ?? EMPTY,
        timestampMs: Number(batch.firstTimestamp + record.timestampDelta),
        headers,
      });
    }
  }
  return { messages, nextOffset };
}
