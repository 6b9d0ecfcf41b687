import { InvalidArgumentError } from '@pipeline/contracts';

/**
 * Errors of `@pipeline/batch`: every failure here is caused by the input (events, options or a
 * partial), so re-running the same job gives the same error — none is retriable.
 *
 * Bad input: an option, an event field or a serialized partial. `field` is the path of the offending
 * value as the caller wrote it, e.g. `window_minutes`, `events[12].value`, `partial.windows[3].count`.
 * The message always starts with the field:  `events[12].value must be a finite number, got "abc"`.
 */
export class BatchInputError extends InvalidArgumentError {
  declare readonly field: string;
  constructor(field: string, problem: string) {
    super(`${field} ${problem}`, field);
  }
}

/** How an offending value is quoted in error messages: strings in JSON quotes, others as JS would print them, long values cut at 60 chars. */
export function describeValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null) text = String(value);
  else if (typeof value === 'bigint') text = `${value}n`;
  else if (typeof value === 'function' || typeof value === 'symbol') text = typeof value;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
