import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpError } from './httpErrors';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Shortest internal token accepted: 32 characters (e.g. `openssl rand -hex 32` gives 64). */
export const MIN_INTERNAL_TOKEN_LENGTH = 32;

/**
 * Secrets compared as SHA-256 digests in constant time, every one of them on every check (no early
 * exit), so neither the time taken nor which one matched leaks. Used for the gateway's API keys and
 * the internal service token.
 */
export class SecretSet {
  private readonly digests: Buffer[];

  constructor(secrets: readonly string[]) {
    this.digests = secrets.map(digest);
  }

  get size(): number {
    return this.digests.length;
  }

  /** The index of `presented` in the set, or -1. */
  indexOf(presented: string): number {
    const d = digest(presented);
    let index = -1;
    for (let i = 0; i < this.digests.length; i++) if (timingSafeEqual(this.digests[i]!, d) && index < 0) index = i;
    return index;
  }
}

/** The token of an `Authorization: Bearer <token>` header (any case of "Bearer"), else undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return typeof header === 'string' && /^Bearer\s+/i.test(header) ? header.replace(/^Bearer\s+/i, '').trim() : undefined;
}

/**
 * The internal service token(s) from the file INTERNAL_TOKEN_FILE names: one token per line, blank
 * lines ignored. The first line is the token this service sends (gateway → ingest, gateway →
 * ml-predictor gRPC); every line is accepted, so a token rotates without downtime: add the new one as
 * a second line everywhere, then move it first, then drop the old one (docs/deploy.md). The file is
 * read once at start-up (envTextFile); errors name the variable and the path.
 */
export function parseInternalTokens(text: string, source: string): string[] {
  const tokens = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  if (tokens.length === 0) throw new Error(`${source} holds no token (one per line)`);
  for (const [i, t] of tokens.entries()) {
    if (t.length < MIN_INTERNAL_TOKEN_LENGTH || /\s/.test(t)) {
      throw new Error(`${source} line ${i + 1} must be a token of at least ${MIN_INTERNAL_TOKEN_LENGTH} characters without spaces (e.g. openssl rand -hex 32), got ${t.length} characters`);
    }
  }
  return tokens;
}

/**
 * Express middleware for a service only other services call (ingest): every route registered after
 * it answers 401 unless the request carries `Authorization: Bearer <one of tokens>`. /healthz,
 * /readyz and /metrics are registered before it and stay open to probes and Prometheus.
 */
export function requireInternalToken(tokens: readonly string[]): RequestHandler {
  const set = new SecretSet(tokens);
  return (req, _res, next) => {
    const presented = bearerToken(req.headers['authorization']);
    if (presented === undefined) {
      return next(new HttpError(401, 'unauthorized', 'missing service token: this endpoint is internal; send Authorization: Bearer <token of INTERNAL_TOKEN_FILE>', undefined, { 'WWW-Authenticate': 'Bearer' }));
    }
    if (set.indexOf(presented) < 0) return next(new HttpError(401, 'unauthorized', 'invalid service token', undefined, { 'WWW-Authenticate': 'Bearer error="invalid_token"' }));
    next();
  };
}
