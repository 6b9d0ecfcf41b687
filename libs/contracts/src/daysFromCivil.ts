/**
 * Days from 1970-01-01 to the civil date (proleptic Gregorian; month 1–12), H. Hinnant's algorithm.
 * The calendar arithmetic of every date-time reader (`parseDateTime` here, batch's `parseTimestamp`),
 * so the two can never disagree on a date.
 *
 *   daysFromCivil(1970, 1, 1)  // 0
 *   daysFromCivil(2024, 3, 1)  // 19783
 */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Days in month `m` (1–12) of year `y`, Gregorian leap years: 2024-02 has 29, 1900-02 has 28, 2000-02 has 29. */
export function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}
