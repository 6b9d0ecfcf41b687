import { LiveStateIndex } from './LiveStateIndex';
import { markerKey, partitionBase, seriesKey, type Slot } from './liveStateKeys';
import { encodeMarker, encodeSeriesEntry } from './liveStateRecords';

const BASE = partitionBase('agg', 'events.metrics', 0);
const CPU = { metric: 'cpu' };

function entry(slot: Slot, round: number, state: number[], epoch = 1): [string, Buffer] {
  return [seriesKey(BASE, slot, CPU), encodeSeriesEntry({ round: BigInt(round), epoch: BigInt(epoch), state: Uint8Array.from(state) })];
}

function marker(round: number, epoch = 1, entryEpoch = epoch): [string, Buffer] {
  return [markerKey(BASE), encodeMarker({ round: BigInt(round), epoch: BigInt(epoch), entryEpoch: BigInt(entryEpoch), nextOffset: BigInt(round * 10), watermarkMs: 0, producedAtMs: 0, shared: Uint8Array.from([9]) })];
}

/** The state bytes each slot of cpu holds (null: an entry without them; undefined: no entry). */
function slotBytes(index: LiveStateIndex): Array<number[] | null | undefined> {
  const series = [...index.partition(BASE)!.seriesOf('cpu')][0]!;
  return series.slots.map((e) => (e === undefined ? undefined : e.state === undefined ? null : [...e.state]));
}

function feed(index: LiveStateIndex, ...messages: Array<[string, Buffer]>): void {
  for (const [key, value] of messages) index.add(key, value);
}

describe('LiveStateIndex', () => {
  it('copies an entry out of the large buffer it arrived in (a fetch response), so holding it does not hold the response', () => {
    const [key, value] = entry(0, 1, [1, 2, 3]);
    const response = Buffer.alloc(1024 * 1024);
    value.copy(response, 4096);
    const index = new LiveStateIndex();
    index.add(key, response.subarray(4096, 4096 + value.length));
    const held = [...index.partition(BASE)!.seriesOf('cpu')][0]!.slots[0]!.state!;
    expect([...held]).toEqual([1, 2, 3]);
    expect(held.buffer.byteLength).toBeLessThan(1024);
  });

  it('with releaseSuperseded, drops the older slot once a marker commits the newer one, whichever arrives first', () => {
    const markerFirst = new LiveStateIndex({ releaseSuperseded: true });
    feed(markerFirst, entry(0, 1, [1]), marker(1), marker(2));
    expect(slotBytes(markerFirst)).toEqual([[1], undefined]);
    feed(markerFirst, entry(1, 2, [2])); // committed on arrival: its marker came first
    expect(slotBytes(markerFirst)).toEqual([null, [2]]);

    const entryFirst = new LiveStateIndex({ releaseSuperseded: true });
    feed(entryFirst, entry(0, 1, [1]), marker(1), entry(1, 2, [2]));
    expect(slotBytes(entryFirst)).toEqual([[1], [2]]); // round 2 not committed yet: round 1 is what readers see
    feed(entryFirst, marker(2));
    expect(slotBytes(entryFirst)).toEqual([null, [2]]);
    expect(entryFirst.partition(BASE)!.uncommitted).toEqual([]);

    const keepAll = new LiveStateIndex();
    feed(keepAll, entry(0, 1, [1]), marker(1), entry(1, 2, [2]), marker(2));
    expect(slotBytes(keepAll)).toEqual([[1], [2]]);
  });

  it('with releaseSuperseded, keeps the committed entry while a new owner\'s entry waits for its marker, and stops waiting once a marker commits it', () => {
    const index = new LiveStateIndex({ releaseSuperseded: true });
    // Owner of epoch 2 committed round 3 in slot 1; a new owner (epoch 3) claims and writes round 4 in slot 0.
    feed(index, entry(0, 2, [1], 2), entry(1, 3, [2], 2), marker(3, 2), marker(3, 3, 2), entry(0, 4, [3], 3));
    expect(slotBytes(index)).toEqual([[3], [2]]); // the claim still commits epoch 2's round 3
    expect(index.partition(BASE)!.uncommitted).toHaveLength(1);
    feed(index, marker(4, 3));
    expect(slotBytes(index)).toEqual([[3], [2]]); // another epoch's entry: the new owner's first round makes it uncommitted, not superseded
    expect(index.partition(BASE)!.uncommitted).toEqual([]);
  });
});
