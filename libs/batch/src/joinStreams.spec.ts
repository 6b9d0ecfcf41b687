import { joinStreams } from './joinStreams';

const L = [{ key: 'a', id: 'L0' }, { key: 'b', id: 'L1' }, { key: 'a', id: 'L2' }, { key: 'c', id: 'L3' }, { id: 'L4' }];
const R = [{ key: 'a', id: 'R0' }, { payload: { key: 'a' }, id: 'R1' }, { key: 'b', id: 'R2' }, { key: 'd', id: 'R3' }];
const ids = (rows: { key: unknown; left: { id: string }; right: { id: string } | null }[]) => rows.map((r) => [r.key, r.left.id, r.right?.id ?? null]);

describe('joinStreams', () => {
  it('inner join: duplicates on both sides give the cross product, ordered by left index then right index', () => {
    expect(ids(joinStreams(L, R, { key: 'key', type: 'inner' }))).toEqual([
      ['a', 'L0', 'R0'], ['a', 'L0', 'R1'], ['b', 'L1', 'R2'], ['a', 'L2', 'R0'], ['a', 'L2', 'R1'],
    ]);
  });

  it('left join: unmatched left events (no partner, or no key) appear at their position with right null', () => {
    expect(ids(joinStreams(L, R, { key: 'key', type: 'left' }))).toEqual([
      ['a', 'L0', 'R0'], ['a', 'L0', 'R1'], ['b', 'L1', 'R2'], ['a', 'L2', 'R0'], ['a', 'L2', 'R1'], ['c', 'L3', null], [null, 'L4', null],
    ]);
  });

  it('gives the same rows in the same order whichever side is smaller (the hash table is built on the smaller one)', () => {
    const bigRight = [...R, ...Array.from({ length: 10 }, (_, i) => ({ key: `x${i}`, id: `RX${i}` }))];
    const expected = [['a', 'L0', 'R0'], ['a', 'L0', 'R1'], ['b', 'L1', 'R2'], ['a', 'L2', 'R0'], ['a', 'L2', 'R1'], ['c', 'L3', null], [null, 'L4', null]];
    expect(ids(joinStreams(L, bigRight, { key: 'key', type: 'left' }))).toEqual(expected);
    expect(ids(joinStreams(L.slice(0, 3), bigRight, { key: 'key' }))).toEqual(expected.slice(0, 5));
  });

  it('returns the input event objects in { key, left, right } rows', () => {
    const rows = joinStreams(L, R, { key: 'key' });
    expect(rows[0]).toEqual({ key: 'a', left: L[0], right: R[0] });
    expect(rows[0].left).toBe(L[0]);
  });

  it('keys keep their JSON type: 1 does not match "1"; null keys never match', () => {
    const rows = joinStreams([{ k: 1, id: 'L0' }, { k: '1', id: 'L1' }, { k: null, id: 'L2' }], [{ k: '1', id: 'R0' }, { id: 'R1' }], { key: 'k', type: 'left' });
    expect(ids(rows as never)).toEqual([[1, 'L0', null], ['1', 'L1', 'R0'], [null, 'L2', null]]);
  });

  it('time-bounded join matches |t_left − t_right| ≤ withinSeconds, inclusive at both ends', () => {
    const t0 = Date.UTC(2024, 4, 1);
    const left = [{ key: 'k', id: 'L0', timestamp: '2024-05-01T00:00:00Z' }];
    const right = [
      { key: 'k', id: 'R0', timestamp: t0 + 60_000 },
      { key: 'k', id: 'R1', timestamp: t0 + 60_001 },
      { key: 'k', id: 'R2', timestamp: '2024-04-30T23:59:00Z' },
      { key: 'k', id: 'R3', timestamp: '2024-04-30T23:58:59.999Z' },
    ];
    expect(ids(joinStreams(left, right, { key: 'key', withinSeconds: 60 }))).toEqual([['k', 'L0', 'R0'], ['k', 'L0', 'R2']]);
    expect(ids(joinStreams(left, right, { key: 'key', withinSeconds: 0, type: 'left' }))).toEqual([['k', 'L0', null]]);
  });

  it('rejects bad keys, timestamps and options naming the side, index and field', () => {
    expect(() => joinStreams([{ key: { a: 1 } }], [], { key: 'key' })).toThrow('left[0].key must be a string, a finite number or a boolean, got {"a":1}');
    expect(() => joinStreams([{ key: 'a', timestamp: 0 }], [{ key: 'a', timestamp: 'noon' }], { key: 'key', withinSeconds: 1 })).toThrow(
      'right[0].timestamp must be an ISO-8601 date-time with a zone or epoch milliseconds, got "noon"',
    );
    expect(() => joinStreams([], [], { key: 'key', withinSeconds: -1 })).toThrow('withinSeconds must be a non-negative finite number, got -1');
    expect(() => joinStreams([], [], { key: 'key', type: 'outer' as 'inner' })).toThrow('type must be "inner" or "left", got "outer"');
  });
});

describe('joinStreams against a nested-loop reference', () => {
  it('matches a brute-force join on 300 × 200 events with mixed key types, duplicates and a time bound', () => {
    let s = 12345;
    const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const keyOf = () => { const u = rand(); return u < 0.1 ? null : u < 0.2 ? Math.floor(rand() * 5) : u < 0.25 ? rand() < 0.5 : `k${Math.floor(rand() * 60)}`; };
    const left = Array.from({ length: 300 }, (_, i) => ({ id: i, k: keyOf(), timestamp: Math.floor(rand() * 100_000) }));
    const right = Array.from({ length: 200 }, (_, i) => ({ id: i, k: keyOf(), timestamp: Math.floor(rand() * 100_000) }));
    for (const [l, r] of [[left, right], [right, left]]) {
      for (const type of ['inner', 'left'] as const) {
        for (const withinSeconds of [undefined, 10]) {
          const expected: unknown[] = [];
          for (const a of l) {
            let matched = false;
            for (const b of r) {
              if (a.k === null || a.k !== b.k) continue;
              if (withinSeconds !== undefined && Math.abs(a.timestamp - b.timestamp) > withinSeconds * 1000) continue;
              matched = true;
              expected.push({ key: a.k, left: a, right: b });
            }
            if (!matched && type === 'left') expected.push({ key: a.k, left: a, right: null });
          }
          expect(joinStreams(l, r, { key: 'k', type, withinSeconds })).toEqual(expected);
        }
      }
    }
  });
});
