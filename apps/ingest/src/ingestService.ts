import type { Duplex, Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { Request, Response } from 'express';
import { Counter } from 'prom-client';
import { EVENT_TOPICS, HTTP_PRINCIPAL_HEADER, HTTP_SERIES_QUOTA_HEADER, INTERNAL_TOPICS, ContractError, InvalidJsonError, PRINCIPAL_HEADER, parseEnvelope } from '@pipeline/contracts';
import { BusError, BusUnavailableError, toOutgoing, type OutgoingMessage, type Subscription } from '@pipeline/kafka';
import { followLiveStats, SeriesRefusedError, type PlannedSeries, type SeriesQuota } from '@pipeline/live-state';
import { HttpError, jsonBody, startCountersAtZero, type ServiceFactory } from '@pipeline/service-runtime';
import { acceptEvents, Rejections, type AcceptedEvent } from './acceptEvents';
import type { IngestConfig } from './config';
import { BodyTooLargeError, readNdjson, TooManyEventsError } from './ndjson';

/**
 * Header ingest sets on events it validated, so its own dead-letter validator skips them. The
 * validator trusts it: anyone allowed to write an event topic can set it and so skip
 * dead-lettering (not validation: the aggregator validates every event it folds and counts the
 * invalid ones). Who may write the event topics is Kafka's ACLs' business (docs/deploy.md); a
 * signature (HMAC over the value) would cost the validator about what parsing the event does.
 */
export const VALIDATED_HEADER = 'pipeline-validated';

/** Who sent a request, as the gateway says (HTTP_PRINCIPAL_HEADER, HTTP_SERIES_QUOTA_HEADER). */
interface Caller {
  /** Kafka headers of its metric events (VALIDATED_HEADER, and PRINCIPAL_HEADER when known). */
  metricHeaders: Record<string, string>;
  quota: SeriesQuota | undefined;
}

const OTHER_HEADERS = { [VALIDATED_HEADER]: '1' };
/** A principal as the gateway writes one (`key:1a2b3c4d5e6f`): printable ASCII, bounded. */
const PRINCIPAL_SHAPE = /^[\x21-\x7e]{1,128}$/;

function callerOf(req: Request): Caller {
  const principal = req.headers[HTTP_PRINCIPAL_HEADER];
  const quota = req.headers[HTTP_SERIES_QUOTA_HEADER];
  if (principal === undefined) {
    if (quota !== undefined) throw new HttpError(400, 'invalid_header', `${HTTP_SERIES_QUOTA_HEADER} needs ${HTTP_PRINCIPAL_HEADER}`);
    return { metricHeaders: OTHER_HEADERS, quota: undefined };
  }
  if (typeof principal !== 'string' || !PRINCIPAL_SHAPE.test(principal)) throw new HttpError(400, 'invalid_header', `${HTTP_PRINCIPAL_HEADER} must be 1 to 128 printable ASCII characters`);
  if (quota !== undefined && (typeof quota !== 'string' || !/^[1-9]\d{0,8}$/.test(quota))) throw new HttpError(400, 'invalid_header', `${HTTP_SERIES_QUOTA_HEADER} must be a positive whole number of series, got ${JSON.stringify(quota)}`);
  return { metricHeaders: { [VALIDATED_HEADER]: '1', [PRINCIPAL_HEADER]: principal }, quota: quota === undefined ? undefined : { principal, maxSeries: Number(quota) } };
}

/**
 * The write path for HTTP producers (POST /v1/events) and the dead-letter validator for messages
 * written straight to the event topics. Kafka down → 503 + Retry-After: an event is answered 202
 * only after Kafka acknowledged it (acks=all), so nothing answered 202 is ever lost.
 */
export const createIngest: ServiceFactory<IngestConfig> = ({ config, bus, metrics, logger }) => {
  const accepted = new Counter({ name: 'pipeline_ingest_events_accepted_total', help: 'Events accepted over HTTP and published', labelNames: ['topic'], registers: [metrics.registry] });
  const rejectedCount = new Counter({ name: 'pipeline_ingest_events_rejected_total', help: 'Events rejected over HTTP', labelNames: ['reason'], registers: [metrics.registry] });
  const deadLettered = new Counter({ name: 'pipeline_deadletter_total', help: 'Messages moved to the dead-letter topic', labelNames: ['topic', 'reason'], registers: [metrics.registry] });
  // Every known series starts at 0, so increase() sees the first dead letter or rejection.
  const reasons = ['invalid_json', 'schema'];
  startCountersAtZero(accepted, { topic: EVENT_TOPICS });
  startCountersAtZero(rejectedCount, { reason: reasons });
  startCountersAtZero(deadLettered, { topic: EVENT_TOPICS, reason: reasons });
  metrics.expectTopics({ published: [...EVENT_TOPICS, INTERNAL_TOPICS.deadLetter], consumed: config.validatorEnabled ? EVENT_TOPICS : [] });
  const parseJson = jsonBody({ limitBytes: config.maxBodyBytes, expected: 'an event (a JSON object) or an array of events', type: () => true });
  let validator: Subscription | undefined;
  const live = config.seriesCheck ? followLiveStats(bus, { group: config.aggregatorGroup, name: 'pipeline-ingest-series', seriesOnly: true, warn: (fields, message) => logger.warn(fields, message) }) : undefined;

  async function publish(valid: AcceptedEvent[], caller: Caller): Promise<void> {
    if (valid.length === 0) return;
    await bus.publishBatch(valid.map((a) => toOutgoing(a.event, { json: a.json, headers: a.event.topic === 'events.metrics' ? caller.metricHeaders : OTHER_HEADERS })));
    for (const v of valid) accepted.inc({ topic: v.event.topic });
  }

  /**
   * Throws SeriesRefusedError (429) for the first metric event of `valid` that would be a new series
   * the aggregator refuses or past the caller's quota (LiveStatsView.seriesRefusal, judged from the
   * aggregator's last snapshot round). `single`: the request is one event (named without an index);
   * `published`: what of the request was published before `valid`.
   */
  function refuseNewSeries(valid: readonly AcceptedEvent[], caller: Caller, single: boolean, published: { accepted: number; ids: readonly string[] }): void {
    if (!live) return;
    const planned: PlannedSeries[] = [];
    const index: number[] = [];
    for (const a of valid) {
      if (a.event.topic !== 'events.metrics') continue;
      const p = a.event.payload as { metric_name: string; group_by?: string };
      planned.push({ ref: { metric: p.metric_name, group: p.group_by }, key: a.event.key });
      index.push(a.index);
    }
    if (planned.length === 0) return;
    const refusal = live.view.seriesRefusal('events.metrics', planned, caller.quota);
    if (!refusal) return;
    const at = index[refusal.index]!;
    throw new SeriesRefusedError({ ...refusal, index: at }, single ? '' : `events[${at}]`, published);
  }

  /** A failed publish, with how many events of the request Kafka had acknowledged before it (errorHandler answers 503 for Kafka being down). */
  function unavailable(e: unknown, acceptedSoFar: number, rejected: Rejections): Error {
    if (e instanceof BusUnavailableError) {
      return new BusUnavailableError('Kafka is unavailable; events not yet acknowledged were not accepted — retry later', { cause: e, details: { accepted: acceptedSoFar, ...rejected.report() } });
    }
    if (e instanceof BusError) return new HttpError(500, 'publish_failed', `publishing failed: ${e.message}`, { accepted: acceptedSoFar });
    return e as Error;
  }

  const tooManyEvents = (acceptedSoFar: number, ids: string[]) =>
    new HttpError(413, 'too_many_events', `the request carries more than ${config.maxEventsPerRequest} events, the limit per request (MAX_EVENTS_PER_REQUEST)${acceptedSoFar > 0 ? `; the first ${acceptedSoFar} valid events before the limit were published` : ''}`, { accepted: acceptedSoFar, ids, max_events: config.maxEventsPerRequest });

  /**
   * The answer: 202 `{accepted, rejected, rejected_count, ids}`, where `rejected` lists only the
   * first MAX_REJECTIONS_REPORTED rejections by index and `rejected_count` counts them all.
   */
  function respond(res: Response, total: number, acceptedCount: number, rejected: Rejections, ids: string[]): void {
    if (rejected.invalidJson > 0) rejectedCount.inc({ reason: 'invalid_json' }, rejected.invalidJson);
    if (rejected.count > rejected.invalidJson) rejectedCount.inc({ reason: 'schema' }, rejected.count - rejected.invalidJson);
    if (total === 0) throw new HttpError(400, 'empty_batch', 'the request contains no events');
    if (acceptedCount === 0) {
      const first = rejected.first[0]!;
      const message = total === 1 ? first.error : `all ${total} events were rejected; first: events[${first.index}]: ${first.error}`;
      throw new HttpError(400, 'invalid_event', message, { accepted: 0, ...rejected.report() });
    }
    res.status(202).json({ accepted: acceptedCount, ...rejected.report(), ids });
  }

  /** The request's body, inflated when it is gzip or deflate encoded (its bytes are then counted after inflation). */
  function decodedBody(req: Request): Readable {
    const encoding = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (encoding === 'identity' || encoding === '') return req;
    if (encoding === 'gzip' || encoding === 'x-gzip' || encoding === 'deflate') {
      const inflate = encoding === 'deflate' ? zlib.createInflate() : zlib.createGunzip();
      req.on('error', (e) => inflate.destroy(e));
      return req.pipe(inflate);
    }
    req.resume();
    throw new HttpError(415, 'unsupported_encoding', `unsupported content encoding "${encoding}"; send gzip, deflate or identity`);
  }

  /** A JSON body is judged whole before any of it is published: a refused request publishes nothing. */
  async function handleJson(req: Request, res: Response, caller: Caller): Promise<void> {
    const body: unknown = req.body;
    const items = Array.isArray(body) ? body : [body];
    if (items.length > config.maxEventsPerRequest) throw tooManyEvents(0, []);
    const rejected = new Rejections();
    const ids: string[] = [];
    let acceptedCount = 0;
    const now = Date.now();
    const chunks: AcceptedEvent[][] = [];
    for (let i = 0; i < items.length; i += config.publishChunkSize) {
      const r = acceptEvents(items.slice(i, i + config.publishChunkSize), i, now, 'http', config.maxFutureSkewSeconds * 1000);
      rejected.add(r.rejected, r.invalidJson);
      chunks.push(r.valid);
    }
    refuseNewSeries(chunks.flat(), caller, !Array.isArray(body), { accepted: 0, ids: [] });
    for (const valid of chunks) {
      try {
        await publish(valid, caller);
      } catch (e) {
        throw unavailable(e, acceptedCount, rejected);
      }
      acceptedCount += valid.length;
      for (const v of valid) ids.push(v.event.id);
    }
    respond(res, items.length, acceptedCount, rejected, ids);
  }

  /**
   * An NDJSON body is judged chunk by chunk as it streams (PUBLISH_CHUNK_SIZE events): a refusal in
   * the first chunk publishes nothing; a later one answers 429 with the `accepted` and `ids` of the
   * chunks already published, as a body past its limit does.
   */
  async function handleNdjson(req: Request, res: Response, caller: Caller): Promise<void> {
    const rejected = new Rejections();
    const ids: string[] = [];
    let acceptedCount = 0;
    let total = 0;
    const body = decodedBody(req);
    /** Reads the rest of the request and drops it, so the connection answers and stays usable. */
    const stopReading = () => {
      if (body !== req) {
        req.unpipe(body as Duplex);
        body.destroy();
      }
      req.resume();
    };
    try {
      for await (const chunk of readNdjson(body, { chunkSize: config.publishChunkSize, maxBytes: config.maxBodyBytes, maxEvents: config.maxEventsPerRequest })) {
        const r = acceptEvents(chunk, total, Date.now(), 'http', config.maxFutureSkewSeconds * 1000);
        total += chunk.length;
        rejected.add(r.rejected, r.invalidJson);
        refuseNewSeries(r.valid, caller, false, { accepted: acceptedCount, ids });
        try {
          await publish(r.valid, caller);
        } catch (e) {
          stopReading();
          throw unavailable(e, acceptedCount, rejected);
        }
        acceptedCount += r.valid.length;
        for (const v of r.valid) ids.push(v.event.id);
      }
    } catch (e) {
      if (e instanceof HttpError || e instanceof BusUnavailableError) throw e;
      stopReading();
      if (e instanceof BodyTooLargeError) {
        throw new HttpError(413, 'payload_too_large', `${e.message}${body !== req ? ' (counted after inflation)' : ''}; the first ${acceptedCount} valid events before the limit were published`, { accepted: acceptedCount, ids });
      }
      if (e instanceof TooManyEventsError) throw tooManyEvents(acceptedCount, ids);
      if (body !== req && typeof (e as NodeJS.ErrnoException).code === 'string' && (e as NodeJS.ErrnoException).code!.startsWith('Z_')) {
        throw new HttpError(400, 'invalid_body', `the request body is not valid ${String(req.headers['content-encoding'])} data: ${(e as Error).message}; the first ${acceptedCount} valid events before it were published`, { accepted: acceptedCount, ids });
      }
      throw e;
    }
    respond(res, total, acceptedCount, rejected, ids);
  }

  return {
    internalOnly: true, // producers go through the gateway; with INTERNAL_TOKEN_FILE set, only it gets in
    routes(app) {
      app.post('/v1/events', async (req, res) => {
        const declared = Number(req.headers['content-length'] ?? NaN);
        if (declared > config.maxBodyBytes) {
          req.resume();
          throw new HttpError(413, 'payload_too_large', `request body of ${declared} bytes exceeds the limit of ${config.maxBodyBytes} bytes`);
        }
        const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        let caller: Caller;
        try {
          caller = callerOf(req);
        } catch (e) {
          req.resume();
          throw e;
        }
        if (type === 'application/json') {
          await new Promise<void>((resolve, reject) => parseJson(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
          await handleJson(req, res, caller);
        } else if (type === 'application/x-ndjson' || type === 'application/jsonl') {
          await handleNdjson(req, res, caller);
        } else {
          req.resume();
          throw new HttpError(415, 'unsupported_media_type', `Content-Type must be application/json or application/x-ndjson, got ${type ? `"${type}"` : 'none'}`);
        }
      });
    },

    async start() {
      await live?.start();
      if (!config.validatorEnabled) return;
      // Producers that write to Kafka themselves (kcat, other clients) are checked here; malformed
      // messages go to the dead-letter topic with the reason in headers, and are counted.
      validator = await bus.subscribe({
        groupId: config.validatorGroupId,
        topics: EVENT_TOPICS,
        // A partition the group never committed on starts at its beginning, not at "latest", so a
        // message written while the partition moved between replicas is never left unchecked. A new
        // group therefore checks the retained history once (events ingest wrote are skipped by header).
        fromBeginning: true,
        // Events ingest wrote itself are passed over by the bus from the raw record's headers: no
        // message is built for them and their value is never parsed again.
        skipHeader: { name: VALIDATED_HEADER, value: '1' },
        handler: async (batch) => {
          const dead: OutgoingMessage[] = [];
          const now = Date.now();
          for (const m of batch.messages) {
            try {
              parseEnvelope(m.value, m.topic, { nowMs: now, defaultSource: 'kafka' });
            } catch (e) {
              if (!(e instanceof ContractError)) throw e;
              const reason = e instanceof InvalidJsonError ? 'invalid_json' : 'schema';
              deadLettered.inc({ topic: m.topic, reason });
              dead.push({
                topic: INTERNAL_TOPICS.deadLetter,
                key: m.key,
                value: m.value,
                headers: {
                  'dlq-reason': reason,
                  'dlq-error': e.message.slice(0, 1000),
                  'dlq-topic': m.topic,
                  'dlq-partition': String(m.partition),
                  'dlq-offset': m.offset,
                },
              });
            }
          }
          if (dead.length > 0) {
            await bus.publishBatch(dead); // throws → batch redelivered, nothing skipped
            logger.warn({ count: dead.length, topic: batch.topic }, 'dead-lettered malformed messages');
          }
        },
      });
    },

    async stop() {
      await validator?.stop();
      await live?.stop();
    },
  };
};
