import http from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { Express } from 'express';
import { HTTP_PRINCIPAL_HEADER, HTTP_SERIES_QUOTA_HEADER } from '@pipeline/contracts';
import { HttpError } from '@pipeline/service-runtime';
import { ownerOf, seriesQuotaOf } from '../auth';

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/**
 * POST /pipeline/events → ingest's POST /v1/events, streamed both ways (NDJSON bodies are never
 * buffered here). Ingest's answer (202 with accepted/rejected, or its error) is passed through.
 * A gzip or deflate body is inflated here and forwarded inflated, so the body limit counts inflated
 * bytes, as for a plain body: a small body that inflates past it is answered 413, not forwarded.
 *
 * The API key's principal and series quota go with the request (HTTP_PRINCIPAL_HEADER,
 * HTTP_SERIES_QUOTA_HEADER; a client's own such headers are never forwarded): ingest puts the
 * principal on each event it publishes and answers 429 `series_quota` (or `series_limit`, the
 * aggregator's cap) for metric events that would be new series past them, as /pipeline/aggregate does.
 */
export function eventsRoutes(app: Express, opts: { ingestUrl: string; bodyLimitBytes: number; internalToken?: string }): void {
  app.post('/pipeline/events', (req, res, next) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > opts.bodyLimitBytes) {
      req.resume();
      return next(new HttpError(413, 'payload_too_large', `request body of ${declared} bytes exceeds the limit of ${opts.bodyLimitBytes} bytes`));
    }
    const encoding = String(req.headers['content-encoding'] ?? '').trim().toLowerCase();
    const inflating = encoding === 'gzip' || encoding === 'x-gzip' || encoding === 'deflate';
    const body: Readable = inflating ? req.pipe(encoding === 'deflate' ? zlib.createInflate() : zlib.createGunzip()) : req;
    const headers: http.OutgoingHttpHeaders = {};
    // Inflated, the body goes on chunked, without the client's length and encoding.
    const forwarded = inflating ? ['content-type'] : ['content-type', 'content-length', 'transfer-encoding', 'content-encoding'];
    for (const h of forwarded) if (req.headers[h] !== undefined) headers[h] = req.headers[h];
    // The client's own credentials stay here; ingest is told who calls by the internal token.
    if (opts.internalToken !== undefined) headers['authorization'] = `Bearer ${opts.internalToken}`;
    const principal = ownerOf(res);
    if (principal !== undefined) headers[HTTP_PRINCIPAL_HEADER] = principal;
    const quota = seriesQuotaOf(res);
    if (quota !== undefined) headers[HTTP_SERIES_QUOTA_HEADER] = String(quota.maxSeries);
    const upstream = http.request(`${opts.ingestUrl}/v1/events`, { method: 'POST', headers, agent }, (up) => {
      res.status(up.statusCode ?? 502);
      for (const h of ['content-type', 'retry-after']) if (up.headers[h] !== undefined) res.setHeader(h, up.headers[h]!);
      up.pipe(res);
    });
    const stopReading = () => {
      body.unpipe(upstream);
      if (body !== req) {
        req.unpipe(body as Duplex);
        body.destroy();
      }
      req.resume();
    };
    upstream.on('error', (err) => {
      stopReading();
      if (!res.headersSent) next(new HttpError(503, 'ingest_unavailable', `the ingest service is not reachable (${(err as NodeJS.ErrnoException).code ?? err.message}); retry later`, undefined, { 'Retry-After': '5' }));
    });
    if (body !== req) {
      body.on('error', (err) => {
        upstream.destroy();
        stopReading();
        if (!res.headersSent) next(new HttpError(400, 'invalid_body', `the request body is not valid ${encoding} data: ${err.message}`));
      });
    }
    let bytes = 0;
    let over = false;
    body.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes > opts.bodyLimitBytes && !over) {
        over = true;
        upstream.destroy();
        stopReading();
        if (!res.headersSent) next(new HttpError(413, 'payload_too_large', `request body exceeds the limit of ${opts.bodyLimitBytes} bytes${inflating ? ' (counted after inflation)' : ''}`));
      }
    });
    // Answered (ingest answered early, e.g. 413 on the event cap) or the client went away before the
    // body was all forwarded: the request to ingest would otherwise stay open, unfinished, holding
    // a connection of each. Drop it, and drain what the client still sends.
    res.on('close', () => {
      if (upstream.writableFinished) return;
      upstream.destroy();
      stopReading();
    });
    body.pipe(upstream);
  });
}
