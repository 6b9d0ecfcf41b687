import { createHash } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { bearerToken, ConfigError, HttpError, SecretSet } from '@pipeline/service-runtime';

/**
 * What an API key may do. Each route needs one (see `scopeOf`); `admin` holds them all.
 * - read: stats, top-K, rates, groups, models, batch service status
 * - ingest: POST /pipeline/events, /pipeline/aggregate
 * - predict: POST /pipeline/ml/predict, /cluster, /anomalies
 * - train: POST /pipeline/ml/train, GET /pipeline/ml/jobs/{id}, DELETE /pipeline/ml/jobs/{id}
 * - batch: POST /pipeline/spark/process, the batch job list, a job, its cancel
 */
export const SCOPES = ['read', 'ingest', 'predict', 'train', 'batch', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKey {
  key: string;
  scopes: ReadonlySet<Scope>;
  /** Most live series the key may have created (its series quota); undefined: unlimited. */
  maxSeries?: number;
}

/**
 * API_KEYS entries: `<key>` (every scope, as before scopes existed), `<key>:<scope>+<scope>…`, and
 * either followed by `:series=<n>`, the key's series quota (0: unlimited), e.g.
 * `3f9c…:ingest+read:series=500` or `3f9c…:series=500`. A key without its own quota gets
 * `defaultMaxSeries` (API_KEY_MAX_SERIES; 0 or undefined: unlimited). A key may not contain `:`. A
 * bad entry throws ConfigError naming its place in the list and what is allowed, never the key itself.
 */
export function parseApiKeys(entries: readonly string[], opts: { defaultMaxSeries?: number } = {}): ApiKey[] {
  return entries.map((entry, i) => {
    const [key, ...parts] = entry.split(':');
    const bad = (got: string) => new ConfigError(`API_KEYS entry ${i + 1} must be <key>[:<scope>+<scope>…][:series=<n>] with scopes among ${SCOPES.join(', ')} and n a whole number of series (0: unlimited), got ${got}`);
    if (key === '') throw bad('an empty key');
    if (parts.length > 2) throw bad(`${parts.length} parts after the key`);
    let scopes: ReadonlySet<Scope> = new Set(SCOPES);
    let maxSeries = opts.defaultMaxSeries;
    const last = parts[parts.length - 1];
    if (last?.startsWith('series=')) {
      if (!/^series=\d{1,9}$/.test(last)) throw bad(JSON.stringify(last));
      maxSeries = Number(last.slice('series='.length));
      parts.pop();
    }
    if (parts.length > 1) throw bad(JSON.stringify(parts[1]));
    if (parts.length === 1) {
      const names = parts[0]!.split('+');
      const unknown = names.filter((n) => !(SCOPES as readonly string[]).includes(n));
      if (unknown.length > 0) throw bad(unknown.map((u) => JSON.stringify(u)).join(', '));
      scopes = new Set(names as Scope[]);
    }
    return maxSeries ? { key: key!, scopes, maxSeries } : { key: key!, scopes };
  });
}

/** Where apiKeyAuth leaves the resolved client, its scopes and its series quota in `res.locals`; absent when auth is off. */
const PRINCIPAL = 'principal';
const GRANTED = 'scopes';
const MAX_SERIES = 'maxSeries';

/**
 * The client a request was authenticated as, `key:<first 12 hex of the key's SHA-256>` (stable while
 * the key exists, whatever its place in API_KEYS), else `ip:<address>` (auth off: anonymous).
 */
export function clientOf(res: Response): string {
  const principal = res.locals[PRINCIPAL] as string | undefined;
  return principal ?? `ip:${res.req.ip ?? 'unknown'}`;
}

/**
 * API-key auth for /pipeline routes: `Authorization: Bearer <key>` or `X-API-Key: <key>`.
 * Keys are compared as SHA-256 digests in constant time. With no keys configured, auth is off.
 * An accepted key is resolved to its principal (`res.locals.principal`, see clientOf), so every
 * spelling of one key's headers is one client to the rate limiter that runs after this.
 */
export function apiKeyAuth(keys: readonly ApiKey[]): RequestHandler {
  const set = new SecretSet(keys.map((k) => k.key));
  const principals = keys.map((k) => `key:${createHash('sha256').update(k.key).digest('hex').slice(0, 12)}`);
  return (req, res, next) => {
    if (set.size === 0) return next();
    const presented = bearerToken(req.headers['authorization']) ?? (req.headers['x-api-key'] as string | undefined)?.trim();
    if (!presented) return next(new HttpError(401, 'unauthorized', 'missing API key: send Authorization: Bearer <key> or X-API-Key', undefined, { 'WWW-Authenticate': 'Bearer' }));
    const index = set.indexOf(presented);
    if (index < 0) return next(new HttpError(401, 'unauthorized', 'invalid API key', undefined, { 'WWW-Authenticate': 'Bearer error="invalid_token"' }));
    res.locals[PRINCIPAL] = principals[index];
    res.locals[GRANTED] = keys[index]!.scopes;
    res.locals[MAX_SERIES] = keys[index]!.maxSeries;
    next();
  };
}

/** The scope a /pipeline request needs (`path` relative to /pipeline); anything not listed needs admin. */
export function scopeOf(method: string, path: string): Scope {
  const m = method === 'HEAD' ? 'GET' : method;
  if (m === 'POST' && (path === '/events' || path === '/aggregate')) return 'ingest';
  if (m === 'POST' && (path === '/ml/predict' || path === '/ml/cluster' || path === '/ml/anomalies')) return 'predict';
  if ((m === 'POST' && path === '/ml/train') || ((m === 'GET' || m === 'DELETE') && path.startsWith('/ml/jobs/'))) return 'train';
  if ((m === 'POST' && path === '/spark/process') || path === '/spark/jobs' || path.startsWith('/spark/jobs/')) return 'batch';
  if (m === 'GET') return 'read';
  return 'admin';
}

/** Whether the request's key holds `scope` (always, when auth is off). */
export function hasScope(res: Response, scope: Scope): boolean {
  const granted = res.locals[GRANTED] as ReadonlySet<Scope> | undefined;
  return granted === undefined || granted.has('admin') || granted.has(scope);
}

/** The principal that owns what this request creates (jobs): its key's (see clientOf); undefined when auth is off. */
export function ownerOf(res: Response): string | undefined {
  return res.locals[PRINCIPAL] as string | undefined;
}

/**
 * The series quota of the request's key (see ApiKey.maxSeries) with its principal, which the
 * aggregator records as the creator of the series its metric events create; undefined when auth is
 * off or the key has none.
 */
export function seriesQuotaOf(res: Response): { principal: string; maxSeries: number } | undefined {
  const principal = ownerOf(res);
  const maxSeries = res.locals[MAX_SERIES] as number | undefined;
  return principal === undefined || maxSeries === undefined ? undefined : { principal, maxSeries };
}

/**
 * Whether this request may see a job of `owner`: its own, an unowned one (submitted with auth off),
 * or any when auth is off or the key holds `admin`.
 */
export function maySee(res: Response, owner: string | undefined): boolean {
  const me = ownerOf(res);
  return me === undefined || owner === undefined || owner === me || hasScope(res, 'admin');
}

/** After apiKeyAuth: 403 unless the key holds the scope the route needs (scopeOf). */
export function requireScope(): RequestHandler {
  return (req, res, next) => {
    const scope = scopeOf(req.method, req.path);
    if (hasScope(res, scope)) return next();
    next(new HttpError(403, 'forbidden', `this API key lacks the "${scope}" scope that ${req.method} ${req.baseUrl}${req.path} needs`));
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
