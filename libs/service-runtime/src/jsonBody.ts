import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import express, { type RequestHandler } from 'express';
import { HttpError } from './httpErrors';

/**
 * How deep a JSON request body may nest objects and arrays. The deepest valid request is an event
 * inside a batch job, `{"events":[{"payload":{"properties":…}}]}`: four levels plus the 32 a
 * free-form payload field may nest. 64 leaves room for that and stays far below the depth at which
 * recursive code (JSON.stringify, schema checks, deep copies) overflows the stack — about 5,000
 * levels on Node's default stack.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * True when the JSON text nests objects/arrays deeper than `max` (`{"a":[1]}` nests 2 deep).
 * One pass over the characters with no parse and no recursion; a bracket inside a string does not
 * count. Text that is not JSON may give either answer — JSON.parse refuses it afterwards.
 */
export function jsonNestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === 0x5c /* \ */) i++;
        else if (s === 0x22) break;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}

/**
 * The path of the first string (a value, or a key) holding U+FFFD — where a UTF-8 decoder put the
 * replacement for bytes that were not UTF-8: `metrics[2].metric_name`. Iterative (bodies are at most
 * MAX_JSON_DEPTH deep anyway); undefined when there is none.
 */
export function pathOfReplacementChar(value: unknown): string | undefined {
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\uFFFD')) return path || 'body';
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, child] = entries[i]!;
        const childPath = path === '' ? k : `${path}.${k}`;
        if (k.includes('\uFFFD')) return `${childPath} (a field name)`;
        stack.push([child, childPath]);
      }
    }
  }
  return undefined;
}

/** Set on a request whose UTF-8 body had bytes that are not UTF-8 (the decoder replaced them with U+FFFD). */
const INVALID_UTF8 = Symbol('invalidUtf8');

const describeValue = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

/**
 * The JSON body parser every service uses (instead of `express.json`), so every JSON body is
 * checked the same way before a route sees it. Errors, in the shared error shape:
 *   400 json_too_deep     nests deeper than `maxDepth` (checked on the text, before parsing)
 *   400 invalid_json      not JSON
 *   400 invalid_request   JSON, but a scalar or null: `body must be a JSON object, got null`;
 *                         or bytes that are not UTF-8, named by the field they are in:
 *                         `metric_name must be valid UTF-8 (the request has bytes that are not), got "cpu\uFFFD"`
 *   413 / 415             too large / undecodable charset (mapped by errorHandler)
 * An empty body parses as `{}`. Arrays pass: routes that take none say what they take instead.
 */
export function jsonBody(opts: {
  /** Largest body accepted, in bytes. */
  limitBytes: number;
  /** What the service takes, for the error on a scalar body, e.g. "a JSON object". */
  expected: string;
  /** Which requests are parsed (default: Content-Type application/json). */
  type?: string | ((req: IncomingMessage) => boolean);
  /** Deepest nesting of objects/arrays accepted (default MAX_JSON_DEPTH). */
  maxDepth?: number;
}): RequestHandler {
  const maxDepth = opts.maxDepth ?? MAX_JSON_DEPTH;
  const readText = express.text({
    limit: opts.limitBytes,
    type: opts.type ?? 'application/json',
    verify: (req, _res, buf, encoding) => {
      if (/^utf-?8$/i.test(encoding) && !isUtf8(buf)) (req as unknown as Record<symbol, boolean>)[INVALID_UTF8] = true;
    },
  });
  return (req, res, next) => {
    readText(req, res, (err?: unknown) => {
      if (err) return next(err);
      const text: unknown = req.body;
      if (typeof text !== 'string') return next(); // no body, or not a type this parser takes
      if (jsonNestsDeeperThan(text, maxDepth)) {
        return next(new HttpError(400, 'json_too_deep', `request body must nest objects and arrays at most ${maxDepth} levels deep`, { max_depth: maxDepth }));
      }
      let body: unknown;
      try {
        body = text.trim() === '' ? {} : JSON.parse(text);
      } catch (e) {
        return next(new HttpError(400, 'invalid_json', `request body is not valid JSON: ${String((e as Error).message).slice(0, 200)}`));
      }
      if (body === null || typeof body !== 'object') return next(new HttpError(400, 'invalid_request', `body must be ${opts.expected}, got ${describeValue(body)}`));
      if ((req as unknown as Record<symbol, boolean>)[INVALID_UTF8]) {
        const at = pathOfReplacementChar(body) ?? 'body';
        return next(new HttpError(400, 'invalid_request', `${at} must be valid UTF-8 (the request has bytes that are not)`));
      }
      req.body = body;
      next();
    });
  };
}
