import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';

/**
 * An error with an HTTP status and a stable code, raised anywhere in a request's path and turned
 * into `{"error":{"code","message","details"?}}` by `errorHandler` — the one place errors are mapped.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Maps body-parser and our own errors to the error shape; anything unknown becomes a generic 500 (the stack goes to the log only). */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    let e: HttpError;
    if (err instanceof HttpError) e = err;
    else if (err?.type === 'entity.too.large') e = new HttpError(413, 'payload_too_large', `request body exceeds the limit of ${err.limit} bytes`);
    else if (err?.type === 'entity.parse.failed') e = new HttpError(400, 'invalid_json', `request body is not valid JSON: ${String(err.message).slice(0, 200)}`);
    else if (err?.type === 'encoding.unsupported' || err?.type === 'charset.unsupported') e = new HttpError(415, 'unsupported_encoding', String(err.message));
    else if (err instanceof URIError && (err as { status?: unknown }).status === 400) e = new HttpError(400, 'invalid_path_parameter', 'a path parameter is not percent-encoded UTF-8');
    else if (typeof err?.status === 'number' && err.status >= 400 && err.status < 500 && err.expose) e = new HttpError(err.status, 'bad_request', String(err.message));
    else {
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
