import { AnomalyPartial } from './AnomalyPartial';
import { detectAnomalies } from './detectAnomalies';
import { scoreAnomalies } from './scoreAnomalies';

const series = (values: (number | null)[], extra: Record<string, unknown> = {}) => values.map((value) => ({ value, ...extra }));

describe('detectAnomalies', () => {
  it('a constant series has no anomalies and stddev 0', () => {
    expect(detectAnomalies(series([5, 5, 5, 5]), { thresholdStd: 0.1 })).toEqual({ anomalies: [], stats: [{ group: null, mean: 5, stddev: 0, count: 4 }] });
  });

  it('flags one outlier by population z-score, strictly above the threshold', () => {
    // mean 2, population stddev √(80/5) = 4, z(10) = 2, z(0) = −0.5
    const events = series([0, 0, 0, 0, 10]);
    expect(detectAnomalies(events, { thresholdStd: 1.99 })).toEqual({
      anomalies: [{ index: 4, event: { value: 10 }, value: 10, z_score: 2 }],
      stats: [{ group: null, mean: 2, stddev: 4, count: 5 }],
    });
    expect(detectAnomalies(events, { thresholdStd: 2 }).anomalies).toEqual([]);
  });

  it('skips events without a value but keeps input indices', () => {
    const result = detectAnomalies(series([null, 0, 0, null, 0, 0, 10]), { thresholdStd: 1.5 });
    expect(result.anomalies.map((a) => [a.index, a.value])).toEqual([[6, 10]]);
    expect(result.stats).toEqual([{ group: null, mean: 2, stddev: 4, count: 5 }]);
  });

  it('scores each group against its own statistics; stats are listed per group, sorted', () => {
    const events = [...series([100, 100], { host: 'b' }), ...series([0, 0, 0, 0, -10], { host: 'a' }), { value: 1, payload: { host: 'b' } }];
    // group a: mean −2, stddev 4 → z(−10) = −2; group b: 100, 100, 1 → mean 67, stddev √(2178/… ) → z(1) ≈ −1.41
    const result = detectAnomalies(events, { thresholdStd: 1.9, groupKey: 'host' });
    expect(result.anomalies).toEqual([{ index: 6, event: { value: -10, host: 'a' }, value: -10, z_score: -2, group: 'a' }]);
    expect(result.stats).toEqual([
      { group: 'a', mean: -2, stddev: 4, count: 5 },
      { group: 'b', mean: 67, stddev: Math.sqrt((33 * 33 * 2 + 66 * 66) / 3), count: 3 },
    ]);
  });

  it('two phases across partitions (merge stats, then score each partition) give the single-pass anomalies', () => {
    const events = series([3, -1, 0, 0, 250, 2, 1, -4, 0, 7, -300, 5]);
    const single = detectAnomalies(events, { thresholdStd: 1.2 });
    const parts = [events.slice(0, 5), events.slice(5, 6), events.slice(6)];
    const offsets = [0, 5, 6];
    const phase1 = parts.map((p, i) => {
      const a = AnomalyPartial.create();
      a.record(p, offsets[i]);
      return JSON.parse(JSON.stringify(a.serialize()));
    });
    const merged = AnomalyPartial.deserialize(phase1[2]);
    merged.merge(AnomalyPartial.deserialize(phase1[0]));
    merged.merge(AnomalyPartial.deserialize(phase1[1]));
    const anomalies = parts.flatMap((p, i) => scoreAnomalies(p, merged, { thresholdStd: 1.2, offset: offsets[i] }));
    expect(anomalies.map((a) => [a.index, a.value])).toEqual([[4, 250], [10, -300]]);
    expect(anomalies.map((a) => [a.index, a.value])).toEqual(single.anomalies.map((a) => [a.index, a.value]));
    anomalies.forEach((a, i) => expect(a.z_score).toBeCloseTo(single.anomalies[i].z_score, 12));
  });

  it('rejects a bad threshold and non-numeric values', () => {
    expect(() => detectAnomalies([], { thresholdStd: 0 })).toThrow('thresholdStd must be a positive finite number, got 0');
    expect(() => detectAnomalies(series([1, 'x' as never]), { thresholdStd: 1 })).toThrow('events[1].value must be a finite number, got "x"');
  });
});
