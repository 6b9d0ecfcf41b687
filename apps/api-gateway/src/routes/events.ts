import http from 'node:http';
import type { Express } from 'express';
import { HttpError } from '@pipeline/service-runtime';

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/**
 * POST /pipeline/events → ingest's POST /v1/events, streamed both ways (NDJSON bodies are never
 * buffered here). Ingest's answer (202 with accepted/rejected, or its error) is passed through.
 */
export function eventsRoutes(app: Express, opts: { ingestUrl: string; bodyLimitBytes: number }): void {
  app.post('/pipeline/events', (req, res, next) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > opts.bodyLimitBytes) {
      req.resume();
      return next(new HttpError(413, 'payload_too_large', `request body of ${declared} bytes exceeds the limit of ${opts.bodyLimitBytes} bytes`));
    }
    const headers: http.OutgoingHttpHeaders = {};
    for (const h of ['content-type', 'content-length', 'transfer-encoding', 'content-encoding']) if (req.headers[h] !== undefined) headers[h] = req.headers[h];
    const upstream = http.request(`${opts.ingestUrl}/v1/events`, { method: 'POST', headers, agent }, (up) => {
      res.status(up.statusCode ?? 502);
      for (const h of ['content-type', 'retry-after']) if (up.headers[h] !== undefined) res.setHeader(h, up.headers[h]!);
      up.pipe(res);
    });
    upstream.on('error', (err) => {
      req.unpipe(upstream);
      req.resume();
      if (!res.headersSent) next(new HttpError(503, 'ingest_unavailable', `the ingest service is not reachable (${(err as NodeJS.ErrnoException).code ?? err.message}); retry later`, undefined, { 'Retry-After': '5' }));
    });
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes > opts.bodyLimitBytes) {
        upstream.destroy();
        req.unpipe(upstream);
        req.resume();
        if (!res.headersSent) next(new HttpError(413, 'payload_too_large', `request body exceeds the limit of ${opts.bodyLimitBytes} bytes`));
      }
    });
    req.pipe(upstream);
  });
}
