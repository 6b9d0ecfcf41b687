import { ContractError, InvalidArgumentError, PipelineError } from '@pipeline/contracts';
import { BusError, BusMessageTooLargeError, BusUnavailableError } from '@pipeline/kafka';
import { HttpError, toHttpError } from './httpErrors';

/** What errorHandler answers for `err`: status, headers and body, or undefined for a generic 500. */
const answer = (err: unknown) => {
  const e = toHttpError(err);
  return e && { status: e.status, headers: e.headers, body: { code: e.code, message: e.message, details: e.details } };
};

describe('toHttpError (the one mapping of errors to HTTP)', () => {
  it('answers Kafka being down with 503 and Retry-After, keeping the message and details', () => {
    const down = new BusUnavailableError('Kafka is unavailable; nothing was accepted — retry later', { cause: new Error('connect ECONNREFUSED 10.0.0.7:9092'), details: { accepted: 2 } });
    expect(answer(down)).toEqual({
      status: 503,
      headers: { 'Retry-After': '5' },
      body: { code: 'kafka_unavailable', message: 'Kafka is unavailable; nothing was accepted — retry later', details: { accepted: 2 } },
    });
  });

  it('answers bad input with 400 under its code and message, whichever lib raised it', () => {
    expect(answer(new ContractError('payload.value must be a finite number, got "abc"', 'payload.value'))).toEqual({
      status: 400,
      headers: {},
      body: { code: 'invalid_argument', message: 'payload.value must be a finite number, got "abc"', details: undefined },
    });
    expect(answer(new InvalidArgumentError('k must be ≥ 1, got 0'))?.status).toBe(400);
  });

  it('answers a message larger than Kafka takes with 413', () => {
    expect(answer(new BusMessageTooLargeError('MESSAGE_TOO_LARGE'))).toEqual({ status: 413, headers: {}, body: { code: 'kafka_message_too_large', message: 'MESSAGE_TOO_LARGE', details: undefined } });
  });

  it('keeps an HttpError as it is', () => {
    const e = new HttpError(404, 'job_not_found', 'no batch job with id "x"');
    expect(toHttpError(e)).toBe(e);
  });

  it('leaves other errors, our own included, to the generic 500 (their text may be internal)', () => {
    expect(answer(new BusError('Connection to 10.0.0.7:9092 failed', false))).toBeUndefined();
    expect(answer(new PipelineError('model_format', 'model header is not valid JSON'))).toBeUndefined();
    expect(answer(new Error('boom'))).toBeUndefined();
  });

  it('maps body-parser errors to 4xx', () => {
    expect(answer(Object.assign(new Error('too large'), { type: 'entity.too.large', limit: 10 }))).toEqual({
      status: 413,
      headers: {},
      body: { code: 'payload_too_large', message: 'request body exceeds the limit of 10 bytes', details: undefined },
    });
  });
});

describe('PipelineError', () => {
  it('carries a code, a retriable flag and its class name; HttpError is retriable only as a 503', () => {
    const e = new BusUnavailableError('down');
    expect([e instanceof PipelineError, e.code, e.retriable, e.name]).toEqual([true, 'kafka_unavailable', true, 'BusUnavailableError']);
    expect([new ContractError('x', 'x').retriable, new HttpError(503, 'ingest_unavailable', 'x').retriable, new HttpError(400, 'bad', 'x').retriable]).toEqual([false, true, false]);
  });
});
