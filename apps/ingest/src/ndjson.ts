import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { PipelineError } from '@pipeline/contracts';
import { jsonNestsDeeperThan, MAX_JSON_DEPTH } from '@pipeline/service-runtime';
import { ParseFailure } from './acceptEvents';

export class BodyTooLargeError extends PipelineError {
  constructor(readonly limit: number) {
    super('payload_too_large', `request body exceeds the limit of ${limit} bytes`);
  }
}

export class TooManyEventsError extends PipelineError {
  constructor(readonly limit: number) {
    super('too_many_events', `the request carries more than ${limit} events, the limit per request`);
  }
}

/**
 * Streams NDJSON lines from a request without buffering the whole body: yields parsed lines in
 * chunks of `chunkSize` (a line that is not JSON yields a `ParseFailure` entry in its place so the
 * caller can reject it by index; so does a line nesting deeper than MAX_JSON_DEPTH, checked before
 * parsing, as for JSON bodies). Blank lines are skipped and do not count as events. Backpressure:
 * the next chunk is read only after the consumer of the previous one finished. More than `maxBytes`
 * bytes (as read from `stream`, so after inflation when it is an inflating stream) throws
 * BodyTooLargeError; more than `maxEvents` lines throws TooManyEventsError as the line past the cap
 * is met (the chunk holding it is not yielded).
 */
export async function* readNdjson(stream: Readable, opts: { chunkSize: number; maxBytes: number; maxEvents?: number }): AsyncGenerator<unknown[]> {
  const maxEvents = opts.maxEvents ?? Infinity;
  let events = 0;
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let bytes = 0;
  let chunk: unknown[] = [];
  const take = (line: string) => {
    const trimmed = line.trim();
    if (trimmed === '') return;
    if (++events > maxEvents) throw new TooManyEventsError(maxEvents);
    if (jsonNestsDeeperThan(trimmed, MAX_JSON_DEPTH)) {
      chunk.push(new ParseFailure(`line must nest objects and arrays at most ${MAX_JSON_DEPTH} levels deep`, false));
      return;
    }
    try {
      chunk.push(JSON.parse(trimmed));
    } catch (e) {
      chunk.push(new ParseFailure(`line is not valid JSON: ${(e as Error).message}`, true));
    }
  };
  // Not destroyed when the loop stops early (a limit): the caller drains the request, so the
  // connection can answer and be reused instead of being left with unread bytes.
  for await (const data of stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    bytes += data.length;
    if (bytes > opts.maxBytes) throw new BodyTooLargeError(opts.maxBytes);
    const text = carry + decoder.write(data);
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
      take(text.slice(start, nl));
      start = nl + 1;
      if (chunk.length >= opts.chunkSize) {
        yield chunk;
        chunk = [];
      }
    }
    carry = text.slice(start);
  }
  take(carry + decoder.end());
  if (chunk.length > 0) yield chunk;
}

