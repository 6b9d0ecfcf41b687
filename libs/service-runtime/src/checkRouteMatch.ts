import type { Express, RequestHandler } from 'express';
import { HttpError } from './httpErrors';

/**
 * The part of Express 5's router this reads: each `app.METHOD(path, …)` is a layer with a `route`
 * whose `methods` it handles; `layer.match(path)` is how the router itself matches, and throws a
 * URIError when a path parameter is not valid percent-encoding (`/pipeline/stats/%ZZ`).
 */
interface RouteLayer {
  route?: { path: string | string[]; methods: Record<string, boolean | undefined> };
  match(path: string): unknown;
}

const handles = (methods: Record<string, boolean | undefined>, method: string): boolean => {
  const m = method.toLowerCase();
  return Boolean(methods['_all'] || methods[m] || (m === 'head' && methods['get']));
};

const methodNames = (methods: Record<string, boolean | undefined>): string[] => {
  const names = Object.keys(methods).filter((m) => m !== '_all' && methods[m]).map((m) => m.toUpperCase());
  if (names.includes('GET') && !names.includes('HEAD')) names.push('HEAD');
  return names;
};

const decodes = (segment: string): boolean => {
  try {
    decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
};

/** The `:name` segment of `patterns` that lines up with an undecodable segment of `path`, if any. */
function undecodableParam(patterns: string[], path: string): { name: string; raw: string } | undefined {
  const segments = path.split('/');
  for (const pattern of patterns) {
    const parts = pattern.split('/');
    if (parts.length !== segments.length) continue;
    for (let i = 0; i < parts.length; i++) {
      if (parts[i]!.startsWith(':') && !decodes(segments[i]!)) return { name: parts[i]!.slice(1), raw: segments[i]! };
    }
  }
  return undefined;
}

const quoted = (s: string) => JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);

/**
 * Matches a request against the app's routes before any handler (auth, body parsing) runs:
 *   - a path parameter that is not percent-encoded UTF-8 → 400 invalid_path_parameter naming it
 *     (`path parameter metric_name must be percent-encoded UTF-8, got "%ZZ"`), where the router
 *     would throw a URIError;
 *   - a path that routes exist for, but not for this method → 405 method_not_allowed with an
 *     `Allow` header listing theirs (OPTIONS is answered 204 with the same header);
 *   - anything else goes on (an unknown path ends in the 404 handler).
 * It reads the routes at request time, so it sees routes added after it was installed.
 */
export function checkRouteMatch(app: Express): RequestHandler {
  return (req, res, next) => {
    const allowed = new Set<string>();
    let pattern: string | undefined;
    for (const layer of app.router.stack as unknown as RouteLayer[]) {
      const route = layer.route;
      if (!route) continue;
      let matched: unknown;
      try {
        matched = layer.match(req.path);
      } catch (e) {
        if (!(e instanceof URIError)) throw e;
        const patterns = Array.isArray(route.path) ? route.path : [route.path];
        const bad = undecodableParam(patterns, req.path);
        const message = bad
          ? `path parameter ${bad.name} must be percent-encoded UTF-8, got ${quoted(bad.raw)}`
          : `a path parameter of ${patterns.join(' or ')} is not percent-encoded UTF-8`;
        return next(new HttpError(400, 'invalid_path_parameter', message, bad ? { parameter: bad.name } : undefined));
      }
      if (!matched) continue;
      if (handles(route.methods, req.method)) return next();
      for (const m of methodNames(route.methods)) allowed.add(m);
      pattern ??= Array.isArray(route.path) ? route.path[0] : route.path;
    }
    if (allowed.size === 0) return next();
    const allow = [...allowed].join(', ');
    if (req.method === 'OPTIONS') {
      res.setHeader('Allow', allow);
      res.status(204).end();
      return;
    }
    next(new HttpError(405, 'method_not_allowed', `${req.method} is not allowed on ${pattern}; allowed: ${allow}`, { allowed: [...allowed] }, { Allow: allow }));
  };
}
