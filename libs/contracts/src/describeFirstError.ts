import { Kind, type TSchema, type TUnion } from '@sinclair/typebox';
import type { TypeCheck } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { ContractError } from './errors';

/**
 * Turns the first schema error into a message that names the field and what was expected:
 *   payload.value must be number, got "abc"
 *   timestamp must be an ISO-8601 date-time with a zone or epoch milliseconds, got "yesterday"  (the schema's errorMessage)
 *   payload.severity must be one of debug, info, warning, error, critical, got "fatal"
 *   metrics must have at most 10000 items, got 10001
 *   events[3].metric_name must not contain control characters or invalid UTF-8, got "a\u0000b"
 *   feature_keys[2] repeats "cpu": items must be unique
 * A schema may say what it expects in its own words with `errorMessage` (used for pattern and union
 * errors): `{ pattern: '^…$', errorMessage: 'must be a Kafka topic name' }`.
 * TypeBox paths are JSON pointers (`/payload/value`, `/metrics/3/value`); we print dotted paths with
 * array indices in brackets (`metrics[3].value`). The whole value is called `event` (`event must be object, got 5`).
 */
export function describeFirstError(check: TypeCheck<TSchema>, value: unknown, prefix = ''): ContractError {
  const first = check.Errors(value).First();
  if (!first) return new ContractError('invalid value', prefix);
  return describe(first, prefix);
}

function describe(e: ValueError, prefix: string): ContractError {
  // A union with its own `errorMessage` (e.g. a time: date-time string or epoch ms) is described whole.
  if (e.type === ValueErrorType.Union && typeof (e.schema as Record<string, unknown>)['errorMessage'] !== 'string') {
    const inner = errorOfClosestVariant(e);
    if (inner) return describe(inner, prefix);
  }
  const path = dottedPath(prefix + e.path);
  const field = path || 'event';
  const s = e.schema as Record<string, unknown>;
  const length = (e.value as { length?: number } | null)?.length;
  const fail = (message: string) => new ContractError(message, path);
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return fail(`${path} is required`);
    case ValueErrorType.ObjectAdditionalProperties: {
      const allowed = Object.keys((s['properties'] ?? {}) as object);
      return fail(`${path} is not an allowed field${allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : ''}`);
    }
    case ValueErrorType.Union:
      return fail(`${field} ${typeof s['errorMessage'] === 'string' ? s['errorMessage'] : `must be ${unionExpectation(e.schema)}`}, got ${got(e.value)}`);
    case ValueErrorType.ArrayMinItems:
      return fail(`${field} must have at least ${String(s['minItems'])} item${s['minItems'] === 1 ? '' : 's'}, got ${length}`);
    case ValueErrorType.ArrayMaxItems:
      return fail(`${field} must have at most ${String(s['maxItems'])} items, got ${length}`);
    case ValueErrorType.StringMinLength:
      return fail(s['minLength'] === 1 ? `${field} must not be empty` : `${field} must be at least ${String(s['minLength'])} characters long, got ${length}`);
    case ValueErrorType.StringMaxLength:
      return fail(`${field} must be at most ${String(s['maxLength'])} characters long, got ${length}`);
    case ValueErrorType.ArrayUniqueItems: {
      const items = e.value as unknown[];
      const seen = new Set<string>();
      const at = items.findIndex((item) => {
        const k = JSON.stringify(item) ?? String(item);
        if (seen.has(k)) return true;
        seen.add(k);
        return false;
      });
      return at < 0 ? fail(`${field} items must be unique`) : fail(`${field}[${at}] repeats ${got(items[at])}: items must be unique`);
    }
    case ValueErrorType.StringPattern:
      return fail(`${field} ${typeof s['errorMessage'] === 'string' ? s['errorMessage'] : `must match the pattern ${String(s['pattern'])}`}, got ${got(e.value)}`);
    case ValueErrorType.StringFormat:
      return fail(`${field} must be ${describeSchema(e.schema)}, got ${got(e.value)}`);
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.IntegerMinimum:
      return fail(`${field} must be at least ${String(s['minimum'])}, got ${got(e.value)}`);
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.IntegerMaximum:
      return fail(`${field} must be at most ${String(s['maximum'])}, got ${got(e.value)}`);
    case ValueErrorType.NumberExclusiveMinimum:
    case ValueErrorType.IntegerExclusiveMinimum:
      return fail(`${field} must be greater than ${String(s['exclusiveMinimum'])}, got ${got(e.value)}`);
    case ValueErrorType.NumberExclusiveMaximum:
    case ValueErrorType.IntegerExclusiveMaximum:
      return fail(`${field} must be less than ${String(s['exclusiveMaximum'])}, got ${got(e.value)}`);
    default:
      return fail(`${field} must be ${e.message.replace(/^[Ee]xpected /, '')}, got ${got(e.value)}`);
  }
}

/**
 * For a union error on an object or array (`{"metrics":[...]}` against "a metric or {metrics}"),
 * the first error of the variant whose shape the value has — most of its keys known to the
 * variant, fewest unknown or missing — so the message is about that variant's field. For a scalar
 * (or no variant of the value's kind) there is no closest variant: the union is described whole.
 */
function errorOfClosestVariant(e: ValueError): ValueError | undefined {
  const v = e.value;
  if (v === null || typeof v !== 'object') return undefined;
  const variants = (e.schema as TUnion).anyOf;
  let best = -1;
  let bestScore = -Infinity;
  variants.forEach((variant, i) => {
    const score = shapeFit(variant, v);
    if (score !== undefined && score > bestScore) [best, bestScore] = [i, score];
  });
  return best < 0 ? undefined : e.errors[best]?.First();
}

function shapeFit(schema: TSchema, value: object): number | undefined {
  if (Array.isArray(value)) return schema[Kind] === 'Array' ? 0 : undefined;
  if (schema[Kind] !== 'Object') return undefined;
  const properties = (schema['properties'] ?? {}) as Record<string, unknown>;
  const required = (schema['required'] ?? []) as string[];
  const keys = Object.keys(value);
  const known = keys.filter((k) => Object.hasOwn(properties, k)).length;
  const unknown = schema['additionalProperties'] === false ? keys.length - known : 0;
  const missing = required.filter((k) => !Object.hasOwn(value, k)).length;
  return known - unknown - missing;
}

function unionExpectation(schema: TSchema): string {
  const variants = (schema as TUnion).anyOf;
  if (variants.every((v) => v[Kind] === 'Literal')) return `one of ${variants.map((v) => String(v['const'])).join(', ')}`;
  return [...new Set(variants.map(describeSchema))].join(' or ');
}

function describeSchema(schema: TSchema): string {
  switch (schema[Kind]) {
    case 'String':
      return schema['format'] === 'date-time' ? 'an ISO-8601 date-time string' : schema['format'] ? `a ${String(schema['format'])} string` : 'a string';
    case 'Number':
      return 'a number';
    case 'Integer':
      return 'an integer';
    case 'Boolean':
      return 'a boolean';
    case 'Null':
      return 'null';
    case 'Object':
    case 'Record':
      return 'an object';
    case 'Array':
      return 'an array';
    case 'Literal':
      return JSON.stringify(schema['const']);
    case 'Union':
      return unionExpectation(schema);
    default:
      return typeof schema['description'] === 'string' ? schema['description'] : 'a valid value';
  }
}

/** `/metrics/3/value` → `metrics[3].value`; `/payload/value` → `payload.value`. */
function dottedPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part) ? `[${part}]` : out === '' ? part : `.${part}`;
  }
  return out;
}

/** The offending value as JSON, cut to 80 characters (NaN and ±Infinity as themselves). */
function got(value: unknown): string {
  let text: string;
  try {
    text =
      value === undefined
        ? 'nothing'
        : typeof value === 'number' && !Number.isFinite(value)
          ? String(value)
          : (JSON.stringify(value) ?? String(value));
  } catch {
    text = typeof value; // e.g. nested too deep to stringify
  }
  return text.length > 80 ? text.slice(0, 77) + '...' : text;
}
