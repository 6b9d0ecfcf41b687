import type { SeriesRef } from '@pipeline/aggregation';

/**
 * Keys of the compacted state topic (`pipeline.aggregator.snapshots`). One input partition's state
 * is spread over many keys, all starting with its base `<consumer group>/<topic>:<partition>`:
 *
 *   `<base>|p`                          the partition marker: the committed round, the input offset
 *                                       it has consumed up to, the watermark, and the state that does
 *                                       not grow with the series (counters, topic rates, top-K)
 *   `<base>|s<slot>|["<metric>"]`       a metric's overall series, in slot 0 or 1
 *   `<base>|s<slot>|["<metric>","<group>"]`  one group of a metric, in slot 0 or 1
 *
 * The series part is the JSON of the name array, so any metric or group name (with `|`, `"`, `:`)
 * reads back unambiguously. Keys written before this format — whole-partition snapshots
 * `<base>` and their chunks `<base>#<set>.<index>` — parse as `legacy`. The consumer group must not
 * contain `|` or `#` (the aggregator's config refuses them).
 */
export type LiveStateKey =
  | { kind: 'marker'; base: string }
  | { kind: 'series'; base: string; slot: Slot; ref: SeriesRef }
  | { kind: 'legacy'; base: string };

export type Slot = 0 | 1;

export function partitionBase(group: string, topic: string, partition: number): string {
  return `${group}/${topic}:${partition}`;
}

/** The input topic and partition of a partition base (topic names hold neither `/` nor `:`); undefined when it has no such shape. */
export function parsePartitionBase(base: string): { topic: string; partition: number } | undefined {
  const slash = base.lastIndexOf('/');
  const colon = base.lastIndexOf(':');
  if (slash < 0 || colon < slash + 2 || !/^\d+$/.test(base.slice(colon + 1))) return undefined;
  return { topic: base.slice(slash + 1, colon), partition: Number(base.slice(colon + 1)) };
}

export function markerKey(base: string): string {
  return `${base}|p`;
}

/** The JSON array naming a series: `["cpu"]` or `["cpu","host-a"]` (also the writer's map key for it). */
export function seriesId(ref: SeriesRef): string {
  return JSON.stringify(ref.group === undefined ? [ref.metric] : [ref.metric, ref.group]);
}

export function seriesKey(base: string, slot: Slot, ref: SeriesRef): string {
  return `${base}|s${slot}|${seriesId(ref)}`;
}

/** The partition base a key belongs to and what it holds; undefined for a key of no known shape. */
export function parseLiveStateKey(key: string): LiveStateKey | undefined {
  const bar = key.indexOf('|');
  if (bar < 0) {
    const hash = key.indexOf('#');
    return { kind: 'legacy', base: hash < 0 ? key : key.slice(0, hash) };
  }
  const base = key.slice(0, bar);
  const rest = key.slice(bar + 1);
  if (rest === 'p') return { kind: 'marker', base };
  if ((rest.startsWith('s0|') || rest.startsWith('s1|')) && rest.length > 3) {
    let names: unknown;
    try {
      names = JSON.parse(rest.slice(3));
    } catch {
      return undefined;
    }
    if (!Array.isArray(names) || names.length < 1 || names.length > 2 || !names.every((n) => typeof n === 'string')) return undefined;
    const ref: SeriesRef = names.length === 1 ? { metric: names[0] as string } : { metric: names[0] as string, group: names[1] as string };
    return { kind: 'series', base, slot: rest[1] === '1' ? 1 : 0, ref };
  }
  return undefined;
}
