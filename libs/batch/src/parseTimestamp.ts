import { MAX_EPOCH_MS, daysFromCivil, daysInMonth, parseDateTime } from '@pipeline/contracts';
import { BatchInputError, describeValue } from './errors';

const MS_PER_DAY = 86_400_000;

/**
 * Event time in epoch milliseconds (UTC) from an event's `timestamp`.
 *
 * Accepted: a finite number (epoch **milliseconds**, never seconds — no guessing; within ±8.64e15, the Date range), or an ISO-8601 /
 * RFC 3339 date-time string with an explicit zone: `2024-05-01T12:00:00Z`,
 * `2024-05-01T12:00:00.123+02:00`, `2024-05-01T12:00Z`. Fractional seconds keep sub-millisecond digits.
 * Also every RFC 3339 form the request schemas' `date-time` format takes (`parseDateTime` of
 * @pipeline/contracts: `t` or a space as separator, `z`, `+0200`), so an inline event the schema
 * accepts is never refused here.
 * Rejected: zone-less strings (they would depend on the machine's time zone), dates without a time,
 * out-of-range parts (month 13, Feb 30, hour 24, second 60).
 * Parsed by hand rather than with `Date.parse`: stricter, independent of the host time zone, and ~5× faster.
 */
export function parseTimestamp(value: unknown, field: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && Math.abs(value) <= MAX_EPOCH_MS) return value;
  } else if (typeof value === 'string') {
    const ms = parseIsoDateTime(value) ?? parseDateTime(value);
    if (ms !== null && ms !== undefined) return ms;
  }
  throw new BatchInputError(field, `must be an ISO-8601 date-time with a zone or epoch milliseconds, got ${describeValue(value)}`);
}

function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function parseIsoDateTime(s: string): number | null {
  // YYYY-MM-DDTHH:MM[:SS[.f+]](Z|±HH:MM)
  if (s.length < 17 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58) return null;
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 2);
  const d = digits(s, 8, 2);
  const h = digits(s, 11, 2);
  const mi = digits(s, 14, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h < 0 || h > 23 || mi < 0 || mi > 59) return null;
  let i = 16;
  let sec = 0;
  let frac = 0;
  if (s.charCodeAt(i) === 58) {
    sec = digits(s, i + 1, 2);
    if (sec < 0 || sec > 59) return null;
    i += 3;
    if (s.charCodeAt(i) === 46) {
      i++;
      let scale = 100;
      const start = i;
      while (i < s.length) {
        const c = s.charCodeAt(i) - 48;
        if (c < 0 || c > 9) break;
        frac += c * scale;
        scale /= 10;
        i++;
      }
      if (i === start) return null;
    }
  }
  let offsetMin = 0;
  const z = s.charCodeAt(i);
  if (z === 90) {
    i++;
  } else if (z === 43 || z === 45) {
    const oh = digits(s, i + 1, 2);
    const om = digits(s, i + 4, 2);
    if (oh < 0 || oh > 23 || s.charCodeAt(i + 3) !== 58 || om < 0 || om > 59) return null;
    offsetMin = (z === 43 ? 1 : -1) * (oh * 60 + om);
    i += 6;
  } else {
    return null;
  }
  if (i !== s.length) return null;
  return daysFromCivil(y, mo, d) * MS_PER_DAY + ((h * 60 + mi - offsetMin) * 60 + sec) * 1000 + frac;
}
