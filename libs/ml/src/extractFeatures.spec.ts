import { MlInputError } from './errors';
import { extractFeatures } from './extractFeatures';
import { extractTarget } from './extractTarget';
import { matrixFromArrays } from './matrixFromArrays';

function thrown(fn: () => unknown): MlInputError {
  try {
    fn();
  } catch (err) {
    if (err instanceof MlInputError) return err;
    throw err;
  }
  throw new Error('expected MlInputError');
}

describe('extractFeatures', () => {
  it('builds a row-major matrix in featureKeys order, ignoring other keys', () => {
    const m = extractFeatures([{ cpu: 50, mem: 60, host: 'a' }, { mem: 65, cpu: 55 }], ['cpu', 'mem']);
    expect(m).toEqual({ data: Float64Array.of(50, 60, 55, 65), nRows: 2, nCols: 2 });
  });

  it('reads features named like object internals from the row only: present they count, absent they are missing', () => {
    const rows = JSON.parse('[{"constructor":1,"__proto__":2,"toString":3},{"constructor":4,"__proto__":5,"toString":6}]') as Record<string, unknown>[];
    expect(extractFeatures(rows, ['constructor', '__proto__', 'toString']).data).toEqual(Float64Array.of(1, 2, 3, 4, 5, 6));
    for (const key of ['constructor', '__proto__', 'valueOf']) {
      const err = thrown(() => extractFeatures([{ cpu: 1 }], [key]));
      expect([err.message, err.field]).toEqual([`rows[0].${key} must be a finite number, got undefined (missing)`, `rows[0].${key}`]);
    }
  });

  it('accepts strict decimal strings and rejects everything else with an indexed message', () => {
    expect(extractFeatures([{ cpu: '50.5' }, { cpu: '-1e3' }, { cpu: '.5' }], ['cpu']).data).toEqual(Float64Array.of(50.5, -1000, 0.5));
    const rows: Record<string, unknown>[] = [{ cpu: 1 }, { cpu: 2 }, { cpu: 3 }, { cpu: 'abc' }];
    const err = thrown(() => extractFeatures(rows, ['cpu']));
    expect([err.message, err.field, err.index]).toEqual(['rows[3].cpu must be a finite number, got "abc"', 'rows[3].cpu', 3]);
    for (const [value, shown] of [['12ms', '"12ms"'], [' 5', '" 5"'], ['', '""'], ['0x1f', '"0x1f"'], [true, 'true'], [null, 'null'], [NaN, 'NaN'], [Infinity, 'Infinity'], [{}, 'a object'], [[1], 'an array']] as const) {
      expect(thrown(() => extractFeatures([{ cpu: value }], ['cpu'])).message).toBe(`rows[0].cpu must be a finite number, got ${shown}`);
    }
  });

  it('reports a missing key as undefined (missing)', () => {
    expect(thrown(() => extractFeatures([{ cpu: 1, mem: 2 }, { cpu: 1 }], ['cpu', 'mem'])).message).toBe('rows[1].mem must be a finite number, got undefined (missing)');
  });

  it('rejects numeric strings when allowNumericStrings is false', () => {
    expect(thrown(() => extractFeatures([{ cpu: '5' }], ['cpu'], { allowNumericStrings: false })).message).toBe('rows[0].cpu must be a finite number, got "5"');
  });

  it('rejects empty rows, empty or duplicate feature keys and non-object rows', () => {
    expect(thrown(() => extractFeatures([], ['cpu'])).message).toBe('rows must be a non-empty array');
    expect(thrown(() => extractFeatures([{ cpu: 1 }], [])).message).toBe('featureKeys must be a non-empty array of strings');
    expect(thrown(() => extractFeatures([{ cpu: 1 }], ['cpu', 'cpu'])).message).toBe('featureKeys[1] duplicates "cpu"');
    expect(thrown(() => extractFeatures([null as never], ['cpu'])).message).toBe('rows[0] must be an object, got null');
  });
});

describe('extractTarget', () => {
  it('reads the target column with the same rules', () => {
    expect(extractTarget([{ y: 1 }, { y: '2.5' }], 'y')).toEqual(Float64Array.of(1, 2.5));
    expect(thrown(() => extractTarget([{ y: 1 }, { y: null }], 'y')).message).toBe('rows[1].y must be a finite number, got null');
  });
});

describe('matrixFromArrays', () => {
  it('copies rectangular finite arrays and names the bad cell otherwise', () => {
    expect(matrixFromArrays([[1, 2], [3, 4]])).toEqual({ data: Float64Array.of(1, 2, 3, 4), nRows: 2, nCols: 2 });
    expect(thrown(() => matrixFromArrays([[1, 2], [3]])).message).toBe('features[1] has 1 values, expected 2');
    expect(thrown(() => matrixFromArrays([[1, 2], [3, NaN]])).message).toBe('features[1][1] must be a finite number, got NaN');
    expect(thrown(() => matrixFromArrays([])).message).toBe('features must be a non-empty array of rows');
  });
});
