import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { PipelineError } from '@pipeline/contracts';

/**
 * An error with an HTTP status and a stable code, raised anywhere in a request's path and turned
 * into `{"error":{"code","message","details"?}}` by `errorHandler`. A 503 is retriable.
 */
export class HttpError extends PipelineError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(code, message, { details, retriable: status === 503 });
  }
}

/** How long a client waits before retrying a request refused because a dependency is down (s). */
const RETRY_AFTER_SECONDS = '5';

/** The HTTP status of each PipelineError code that is not an HttpError; any other code is a 500. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  invalid_argument: 400,
  kafka_message_too_large: 413,
  kafka_unavailable: 503,
  series_limit: 429,
  series_quota: 429,
};

/**
 * The one mapping of errors to HTTP answers. An HttpError keeps its status; another PipelineError
 * gets the status of its code (STATUS_BY_CODE) with its code, message and details, and a 503 says
 * when to retry (Retry-After); body-parser's errors become 4xx; anything else becomes a generic 500
 * (the stack goes to the log only).
 */
export function toHttpError(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  const status = err instanceof PipelineError ? STATUS_BY_CODE[err.code] : undefined;
  if (err instanceof PipelineError && status !== undefined) return new HttpError(status, err.code, err.message, err.details, status === 503 ? { 'Retry-After': RETRY_AFTER_SECONDS } : {});
  const e = err as { type?: unknown; limit?: unknown; message?: unknown; status?: unknown; expose?: unknown } | null;
  if (e?.type === 'entity.too.large') return new HttpError(413, 'payload_too_large', `request body exceeds the limit of ${e.limit} bytes`);
  if (e?.type === 'entity.parse.failed') return new HttpError(400, 'invalid_json', `request body is not valid JSON: ${String(e.message).slice(0, 200)}`);
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') return new HttpError(415, 'unsupported_encoding', String(e.message));
  if (err instanceof URIError && e?.status === 400) return new HttpError(400, 'invalid_path_parameter', 'a path parameter is not percent-encoded UTF-8');
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && e.expose) return new HttpError(e.status, 'bad_request', String(e.message));
  return undefined;
}

/** Express's error handler: toHttpError, or a generic 500 whose cause goes to the log. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    let e = toHttpError(err);
    if (!e) {
      logger.error({ err, method: req.method, url: req.originalUrl }, 'unhandled error');
      e = new HttpError(500, 'internal', 'internal server error');
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
    res.status(e.status).json({ error: { code: e.code, message: e.message, ...(e.details === undefined ? {} : { details: e.details }) } });
  };
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`));
};
