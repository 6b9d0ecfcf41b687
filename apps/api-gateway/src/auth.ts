import { timingSafeEqual, createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpError } from '@pipeline/service-runtime';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * API-key auth for /pipeline routes: `Authorization: Bearer <key>` or `X-API-Key: <key>`.
 * Keys are compared as SHA-256 digests in constant time. With no keys configured, auth is off.
 */
export function apiKeyAuth(keys: readonly string[]): RequestHandler {
  const digests = keys.map(digest);
  return (req, _res, next) => {
    if (digests.length === 0) return next();
    const header = req.headers['authorization'];
    const presented = typeof header === 'string' && /^Bearer\s+/i.test(header) ? header.replace(/^Bearer\s+/i, '').trim() : (req.headers['x-api-key'] as string | undefined);
    if (!presented) return next(new HttpError(401, 'unauthorized', 'missing API key: send Authorization: Bearer <key> or X-API-Key', undefined, { 'WWW-Authenticate': 'Bearer' }));
    const d = digest(presented);
    if (!digests.some((k) => timingSafeEqual(k, d))) return next(new HttpError(401, 'unauthorized', 'invalid API key', undefined, { 'WWW-Authenticate': 'Bearer error="invalid_token"' }));
    next();
  };
}

/** Token bucket per client (API key, else IP): `perSec` tokens/s, burst 2·perSec. 0 disables it. */
export function rateLimit(perSec: number, now: () => number = Date.now): RequestHandler {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (req, _res, next) => {
    if (perSec <= 0) return next();
    const id = (req.headers['x-api-key'] as string | undefined) ?? (req.headers['authorization'] as string | undefined) ?? req.ip ?? 'unknown';
    const t = now();
    const b = buckets.get(id) ?? { tokens: perSec * 2, at: t };
    b.tokens = Math.min(perSec * 2, b.tokens + ((t - b.at) / 1000) * perSec);
    b.at = t;
    buckets.set(id, b);
    if (buckets.size > 100_000) buckets.clear(); // bound memory under a flood of distinct clients
    if (b.tokens < 1) return next(new HttpError(429, 'rate_limited', `rate limit of ${perSec} requests/s exceeded`, undefined, { 'Retry-After': '1' }));
    b.tokens -= 1;
    next();
  };
}
