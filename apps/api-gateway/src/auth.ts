import type { RequestHandler, Response } from 'express';
import { bearerToken, HttpError, SecretSet } from '@pipeline/service-runtime';

/** Where apiKeyAuth leaves the resolved client in `res.locals`: `key:<index in API_KEYS>`; absent when auth is off. */
const PRINCIPAL = 'principal';

/** The client a request was authenticated as (`key:<i>`), else `ip:<address>` (auth off: anonymous). */
export function clientOf(res: Response): string {
  const principal = res.locals[PRINCIPAL] as string | undefined;
  return principal ?? `ip:${res.req.ip ?? 'unknown'}`;
}

/**
 * API-key auth for /pipeline routes: `Authorization: Bearer <key>` or `X-API-Key: <key>`.
 * Keys are compared as SHA-256 digests in constant time. With no keys configured, auth is off.
 * An accepted key is resolved to its place in the list (`res.locals.principal = "key:<i>"`), so
 * every spelling of one key's headers is one client to the rate limiter that runs after this.
 */
export function apiKeyAuth(keys: readonly string[]): RequestHandler {
  const set = new SecretSet(keys);
  return (req, res, next) => {
    if (set.size === 0) return next();
    const presented = bearerToken(req.headers['authorization']) ?? (req.headers['x-api-key'] as string | undefined)?.trim();
    if (!presented) return next(new HttpError(401, 'unauthorized', 'missing API key: send Authorization: Bearer <key> or X-API-Key', undefined, { 'WWW-Authenticate': 'Bearer' }));
    const index = set.indexOf(presented);
    if (index < 0) return next(new HttpError(401, 'unauthorized', 'invalid API key', undefined, { 'WWW-Authenticate': 'Bearer error="invalid_token"' }));
    res.locals[PRINCIPAL] = `key:${index}`;
    next();
  };
}

interface Bucket {
  tokens: number;
  /** Last time this client was seen (ms). */
  at: number;
}

/**
 * Token buckets per client: `perSec` tokens/s, burst 2·perSec, at most `maxClients` buckets.
 *
 * Memory is bounded without ever resetting a client: the buckets are kept least recently seen first,
 * and a full table evicts its least recently seen bucket only when that bucket has refilled to the
 * burst (not seen for 2 s), which is the same as having no bucket. When even that bucket may still be
 * short of tokens, a new client shares one overflow bucket instead of taking a slot: a flood of
 * distinct clients then limits itself, and the clients already in the table keep their state.
 * Example: perSec 2, maxClients 3, clients A B C seen within the last second; D, E, F… all draw on the
 * overflow bucket (4 requests, then 2/s among them) until A has gone unseen for 2 s.
 */
export class ClientBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly overflow: Bucket;
  private readonly burst: number;

  constructor(
    private readonly perSec: number,
    private readonly maxClients: number,
    private readonly now: () => number = Date.now,
  ) {
    this.burst = perSec * 2;
    this.overflow = { tokens: this.burst, at: now() };
  }

  /** Takes a token for `client`; false = none left (the request is refused). */
  take(client: string): boolean {
    const t = this.now();
    let b = this.buckets.get(client);
    if (b) this.buckets.delete(client); // re-inserted below: most recently seen last
    else if (this.buckets.size < this.maxClients || this.evictRefilled(t)) b = { tokens: this.burst, at: t };
    else return this.draw(this.overflow, t);
    this.buckets.set(client, b);
    return this.draw(b, t);
  }

  /** Buckets held (at most maxClients). */
  get size(): number {
    return this.buckets.size;
  }

  private evictRefilled(t: number): boolean {
    const [oldest, b] = this.buckets.entries().next().value as [string, Bucket];
    if (b.tokens + ((t - b.at) / 1000) * this.perSec < this.burst) return false;
    this.buckets.delete(oldest);
    return true;
  }

  private draw(b: Bucket, t: number): boolean {
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.perSec);
    b.at = t;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

/**
 * Rate limit per client, to run after apiKeyAuth: the authenticated key (however its header was
 * spelt), else the IP when auth is off. Requests with a made-up key never get here (401 first), so
 * they cannot take slots from real clients. `perSec` 0 disables it.
 */
export function rateLimit(perSec: number, opts: { maxClients?: number; now?: () => number } = {}): RequestHandler {
  const buckets = perSec > 0 ? new ClientBuckets(perSec, opts.maxClients ?? 10_000, opts.now) : undefined;
  return (_req, res, next) => {
    if (!buckets || buckets.take(clientOf(res))) return next();
    next(new HttpError(429, 'rate_limited', `rate limit of ${perSec} requests/s exceeded`, undefined, { 'Retry-After': '1' }));
  };
}
