import { daysFromCivil, daysInMonth } from './daysFromCivil';

const MS_PER_DAY = 86_400_000;
/** The ECMAScript Date range: ±100,000,000 days around 1970. */
export const MAX_EPOCH_MS = 8.64e15;

/** RFC 3339 date-time: `YYYY-MM-DD(T|t| )HH:MM:SS[.fraction](Z|z|±HH:MM|±HHMM)`. */
const SHAPE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/;

/**
 * Epoch milliseconds of an RFC 3339 date-time with an explicit zone, or undefined when the text is not
 * one. This is the one definition of the `date-time` format: the schemas' format check and every reader
 * of a request's times use it, so a time the published schema refuses is refused everywhere.
 *
 * Refused, unlike `Date.parse`: out-of-range parts (`2024-02-30`, month 13, hour 24, second 60, offset
 * +24:00), a missing zone (it would depend on the server's time zone), a missing seconds field.
 * Fractions below a millisecond are truncated, as `Date.parse` does.
 *
 *   parseDateTime('2024-05-01T12:00:00+02:00') // 1714557600000
 *   parseDateTime('2024-02-30T00:00:00Z')      // undefined
 */
export function parseDateTime(text: string): number | undefined {
  const m = SHAPE.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > daysInMonth(y!, mo!) || h! > 23 || mi! > 59 || s! > 59) return undefined;
  let offsetMin = 0;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offsetMin = (m[9] === '+' ? 1 : -1) * (oh * 60 + om);
  }
  const fractionMs = m[7] === undefined ? 0 : Number(m[7].slice(1, 4).padEnd(3, '0'));
  const ms = daysFromCivil(y!, mo!, d!) * MS_PER_DAY + ((h! * 60 + mi! - offsetMin) * 60 + s!) * 1000 + fractionMs;
  return Math.abs(ms) <= MAX_EPOCH_MS ? ms : undefined;
}
