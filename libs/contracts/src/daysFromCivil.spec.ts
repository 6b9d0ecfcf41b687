import { daysFromCivil, daysInMonth } from './daysFromCivil';

describe('daysFromCivil', () => {
  it('agrees with Date.UTC on every first of the month from 1600 to 2400, and before 1970', () => {
    for (let y = 1600; y <= 2400; y++) {
      for (let m = 1; m <= 12; m++) expect(daysFromCivil(y, m, 1)).toBe(Date.UTC(y, m - 1, 1) / 86_400_000);
    }
    expect([daysFromCivil(1970, 1, 1), daysFromCivil(1969, 12, 31), daysFromCivil(2024, 2, 29)]).toEqual([0, -1, 19_782]);
  });
});

describe('daysInMonth', () => {
  it('gives February 29 days in leap years only (every 4th, not every 100th, every 400th)', () => {
    expect([2023, 2024, 1900, 2000].map((y) => daysInMonth(y, 2))).toEqual([28, 29, 28, 29]);
    expect([1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((m) => daysInMonth(2023, m))).toEqual([31, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]);
  });
});
