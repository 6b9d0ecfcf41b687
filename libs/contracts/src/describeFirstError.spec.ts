import { Type } from '@sinclair/typebox';
import { AggregateRequestSchema, ContractError, compileValidator, describeFirstError, normalizeEvent } from './index';

const messageOf = (schema: Parameters<typeof compileValidator>[0], value: unknown) => describeFirstError(compileValidator(schema), value).message;

describe('describeFirstError', () => {
  it('describes a union of scalar types by what each variant takes, not "union value"', () => {
    const stamped = Type.Object({ timestamp: Type.Union([Type.String({ format: 'date-time' }), Type.Number()]) });
    expect(messageOf(stamped, { timestamp: 'yesterday' })).toBe('timestamp must be an ISO-8601 date-time string or a number, got "yesterday"');
    expect(messageOf(stamped, { timestamp: true })).toBe('timestamp must be an ISO-8601 date-time string or a number, got true');
  });

  it("uses a union's own errorMessage: an event time says it takes a zone or epoch milliseconds in range", () => {
    let caught: unknown;
    try {
      normalizeEvent({ topic: 'events.metrics', timestamp: 'yesterday', payload: { metric_name: 'x', value: 1 } }, { nowMs: 0, defaultSource: 't' });
    } catch (e) {
      caught = e;
    }
    const expected = 'must be an ISO-8601 date-time with a zone or epoch milliseconds';
    expect(caught).toEqual(new ContractError(`timestamp ${expected}, got "yesterday"`, 'timestamp'));
    expect(messageOf(AggregateRequestSchema, { metric_name: 'x', value: 1, timestamp: true })).toBe(`timestamp ${expected}, got true`);
    expect(messageOf(AggregateRequestSchema, { metric_name: 'x', value: 1, timestamp: 1e16 })).toBe(`timestamp ${expected}, got 10000000000000000`);
  });

  it('lists the values of a union of literals', () => {
    const severity = Type.Object({ severity: Type.Union([Type.Literal('info'), Type.Literal('error')]) });
    expect(messageOf(severity, { severity: 'fatal' })).toBe('severity must be one of info, error, got "fatal"');
  });

  it('reports the error of the object variant the value is shaped like, with the cap it exceeds', () => {
    const metrics = Array.from({ length: 10_001 }, () => ({ metric_name: 'x', value: 1 }));
    expect(messageOf(AggregateRequestSchema, { metrics })).toBe('metrics must have at most 10000 items, got 10001');
    expect(messageOf(AggregateRequestSchema, { metrics: [] })).toBe('metrics must have at least 1 item, got 0');
    expect(messageOf(AggregateRequestSchema, { metrics: [{ metric_name: 'x', value: 'a' }] })).toBe('metrics[0].value must be number, got "a"');
    expect(messageOf(AggregateRequestSchema, { metric_name: 'x', value: 'a' })).toBe('value must be number, got "a"');
    expect(messageOf(AggregateRequestSchema, { metric_name: 'x' })).toBe('value is required');
    expect(messageOf(AggregateRequestSchema, 5)).toBe('event must be an object, got 5');
  });

  it('names length and range limits with the value’s size', () => {
    const s = Type.Object({ name: Type.String({ minLength: 1, maxLength: 4 }), code: Type.String({ minLength: 3 }), n: Type.Integer({ minimum: 1, maximum: 9 }), x: Type.Number({ exclusiveMinimum: 0 }) });
    expect(messageOf(s, { name: '', code: 'abc', n: 1, x: 1 })).toBe('name must not be empty');
    expect(messageOf(s, { name: 'abcdef', code: 'abc', n: 1, x: 1 })).toBe('name must be at most 4 characters long, got 6');
    expect(messageOf(s, { name: 'a', code: 'ab', n: 1, x: 1 })).toBe('code must be at least 3 characters long, got 2');
    expect(messageOf(s, { name: 'a', code: 'abc', n: 10, x: 1 })).toBe('n must be at most 9, got 10');
    expect(messageOf(s, { name: 'a', code: 'abc', n: 0, x: 1 })).toBe('n must be at least 1, got 0');
    expect(messageOf(s, { name: 'a', code: 'abc', n: 1, x: 0 })).toBe('x must be greater than 0, got 0');
  });
});
