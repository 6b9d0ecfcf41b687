import { ArrivalTallies } from './ArrivalTallies';
import { ByteReader } from './ByteReader';
import { ByteWriter } from './ByteWriter';
import { DeserializationError } from './errors';

const T = Date.UTC(2026, 11, 7, 12, 0, 0); // a multiple of 5 s
const at = (seconds: number) => T + seconds * 1000;

function roundTrip(t: ArrivalTallies): ArrivalTallies {
  const w = new ByteWriter();
  t.writeTo(w);
  const r = new ByteReader(w.finish());
  const copy = ArrivalTallies.readFrom(r, t.blockSeconds);
  r.expectEnd('tallies');
  return copy;
}

function blocks(t: ArrivalTallies): number {
  const w = new ByteWriter();
  t.writeTo(w);
  return new ByteReader(w.finish()).varUint();
}

describe('ArrivalTallies', () => {
  it('counts late and future events by arrival in the window, widened at its far end to a whole block', () => {
    const t = new ArrivalTallies(5);
    t.add('late', at(0), 60);
    t.add('late', at(4.9), 60);
    t.add('future', at(31), 60);
    t.add('late', at(59), 60);
    expect(t.inWindow(at(59), 60)).toEqual({ late: 3, future: 1 });
    // At 60 s the window is seconds (0, 60]: the block [0, 5) still reaches into it, whole.
    expect(t.inWindow(at(60), 60)).toEqual({ late: 3, future: 1 });
    expect(t.inWindow(at(63), 60)).toEqual({ late: 3, future: 1 });
    // At 64 s the window starts at second 5: the block [0, 5) has left it.
    expect(t.inWindow(at(64), 60)).toEqual({ late: 1, future: 1 });
    expect(t.inWindow(at(95), 60)).toEqual({ late: 1, future: 0 });
    expect(t.inWindow(at(200), 60)).toEqual({ late: 0, future: 0 });
  });

  it('drops the blocks that have left the window as new ones come, so a busy metric keeps at most window / block + 1', () => {
    const t = new ArrivalTallies(5);
    for (let s = 0; s < 3600; s++) t.add(s % 2 === 0 ? 'late' : 'future', at(s), 60);
    expect(blocks(t)).toBeLessThanOrEqual(60 / 5 + 1);
    expect(t.inWindow(at(3599), 60)).toEqual({ late: 30, future: 30 }); // seconds 3540–3599
  });

  it('merges tallies of other states, whatever the order of their blocks, into what one fed everything holds', () => {
    const single = new ArrivalTallies(5);
    const parts = [new ArrivalTallies(5), new ArrivalTallies(5)];
    const arrivals = [40, 3, 17, 17, 29, 8, 55, 41];
    arrivals.forEach((s, i) => {
      single.add(i % 3 === 0 ? 'future' : 'late', at(s), 300);
      parts[i % 2]!.add(i % 3 === 0 ? 'future' : 'late', at(s), 300);
    });
    const merged = new ArrivalTallies(5);
    merged.merge(parts[1]!);
    merged.merge(parts[0]!);
    for (const now of [55, 300, 310, 330, 354]) expect([now, merged.inWindow(at(now), 300)]).toEqual([now, single.inWindow(at(now), 300)]);
    expect(blocks(merged)).toBe(blocks(single));
  });

  it('round-trips through writeTo/readFrom, and rejects blocks out of order', () => {
    const t = new ArrivalTallies(5);
    t.add('late', at(1), 300);
    t.add('future', at(12), 300);
    t.add('future', at(13), 300);
    const copy = roundTrip(t);
    expect(copy.inWindow(at(20), 300)).toEqual({ late: 1, future: 2 });
    expect(roundTrip(new ArrivalTallies(5)).empty).toBe(true);
    const w = new ByteWriter();
    w.varUint(2);
    for (const start of [100, 0]) {
      w.varInt(start);
      w.varUint(1);
      w.varUint(0);
    }
    expect(() => ArrivalTallies.readFrom(new ByteReader(w.finish()), 5)).toThrow(DeserializationError);
  });
});
