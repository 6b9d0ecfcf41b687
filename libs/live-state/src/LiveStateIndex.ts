import { SnapshotAssembler, type PartitionSnapshot, type SeriesRef } from '@pipeline/aggregation';
import { parseLiveStateKey, parsePartitionBase, type Slot } from './liveStateKeys';
import { decodeMarker, decodeSeriesEntry, type PartitionMarker } from './liveStateRecords';

/** One slot of a series as read from the topic; `state` undefined when deleted or not retained. */
export interface IndexedEntry {
  round: bigint;
  /** The owner that wrote it (0: before fencing). */
  epoch: bigint;
  deleted: boolean;
  state: Uint8Array | undefined;
  /** Who created the series (see SeriesEntry.principal); undefined: unknown. */
  principal: string | undefined;
}

export interface IndexedSeries {
  ref: SeriesRef;
  slots: [IndexedEntry | undefined, IndexedEntry | undefined];
}

/** A marker as indexed (`shared` undefined when not retained). */
export type IndexedMarker = Omit<PartitionMarker, 'shared'> & { shared: Uint8Array | undefined };

interface MetricEntries {
  overall: IndexedSeries | undefined;
  /** Created with the metric's first group: most metrics have none, and an empty Map costs ~250 bytes. */
  groups: Map<string, IndexedSeries> | undefined;
}

/** What the topic holds of one input partition. */
export class PartitionEntries {
  marker: IndexedMarker | undefined;
  /** Highest round on any of its keys (a new owner numbers its rounds above it). */
  maxRound = 0n;
  /** Highest owner epoch on any of its keys, fenced writes included (a new owner claims the one above it). */
  maxEpoch = 0n;
  /** Keys of the whole-partition snapshot format (written before per-series entries): to delete once a marker is committed. */
  readonly legacyKeys = new Set<string>();
  /** Metric name → its series' slots. A Map: any name, `constructor` too. */
  readonly metrics = new Map<string, MetricEntries>();
  /** Metrics with an entry above the marker's round (they change when a marker reaches it). */
  readonly pending = new Map<string, bigint>();
  /**
   * Series with an entry no marker has committed yet, oldest first (kept only when the index drops
   * superseded states, see `releaseSuperseded`): when a marker commits one, its older slot is dropped.
   */
  readonly uncommitted: IndexedSeries[] = [];
  /**
   * Series whose newest entry (committed or not) holds a state: the writer's live series as of the
   * last round it wrote, kept up to date entry by entry (see `isLive`). For the aggregator this is
   * its `activeSeries` after that round's expiry, which its series cap (`maxSeries`) bounds.
   */
  liveSeries = 0;
  /**
   * Of `liveSeries`, how many each principal created (the principal of the series' newest entry;
   * series of no known principal are not counted here). A Map: principals come from record headers.
   */
  readonly liveByPrincipal = new Map<string, number>();

  /** The input topic of this partition (undefined for a base of no known shape). */
  readonly topic: string | undefined;

  constructor(readonly base: string) {
    this.topic = parsePartitionBase(base)?.topic;
  }

  /** The series of `metric` on this partition, overall first, then groups in arrival order. */
  *seriesOf(metric: string): IterableIterator<IndexedSeries> {
    const m = this.metrics.get(metric);
    if (!m) return;
    if (m.overall) yield m.overall;
    if (m.groups) yield* m.groups.values();
  }

  /** Whether the series' newest entry holds a state (it is neither absent nor deleted); O(1). */
  hasLive(ref: SeriesRef): boolean {
    const m = this.metrics.get(ref.metric);
    const series = ref.group === undefined ? m?.overall : m?.groups?.get(ref.group);
    return series !== undefined && isLive(series);
  }

  *allSeries(): IterableIterator<IndexedSeries> {
    for (const metric of this.metrics.keys()) yield* this.seriesOf(metric);
  }
}

/** Whether the newest of a series' slots holds a state (the writer's last word on it: alive). */
function isLive(series: IndexedSeries): boolean {
  const newest = newestEntry(series);
  return newest !== undefined && !newest.deleted;
}

function newestEntry(series: IndexedSeries): IndexedEntry | undefined {
  const [a, b] = series.slots;
  return !a ? b : !b ? a : a.round >= b.round ? a : b;
}

/**
 * Adds (`sign` 1) or takes away (−1) a series from its partition's live counts, as it stands: call
 * it with −1 before changing a slot and with 1 after, so the counts follow the newest entry.
 */
function countLive(part: PartitionEntries, series: IndexedSeries, sign: 1 | -1): void {
  const newest = newestEntry(series);
  if (newest === undefined || newest.deleted) return;
  part.liveSeries += sign;
  const who = newest.principal;
  if (who === undefined) return;
  const n = (part.liveByPrincipal.get(who) ?? 0) + sign;
  if (n === 0) part.liveByPrincipal.delete(who);
  else part.liveByPrincipal.set(who, n);
}

/**
 * The committed entry of a series: of its two slots, the one written in the marker's `entryEpoch`
 * with the highest round that is ≤ the marker's round (undefined without a marker, or when no slot
 * qualifies). An entry of another epoch is never committed: either the owner that took over has
 * rewritten every series in its own epoch (its first round) and the entry is older than that, or it
 * was written by a fenced owner after the handover.
 */
export function committedEntry(series: IndexedSeries, marker: Pick<IndexedMarker, 'round' | 'entryEpoch'> | undefined): { slot: Slot; entry: IndexedEntry } | undefined {
  if (marker === undefined) return undefined;
  let best: { slot: Slot; entry: IndexedEntry } | undefined;
  for (const slot of [0, 1] as const) {
    const e = series.slots[slot];
    if (e && e.epoch === marker.entryEpoch && e.round <= marker.round && (!best || e.round > best.entry.round)) best = { slot, entry: e };
  }
  return best;
}

/**
 * Drops the state bytes of a series' superseded slot: the older entry, of the same epoch, beside the
 * committed one. No later marker commits it again — markers only move up in (epoch, round), a claim
 * keeps the round it restored, and the writer never deletes a committed entry while an older one of
 * its epoch is left — so a reader of committed entries never needs those bytes (at 100,000 series
 * changing every round they are as many as the committed ones). True when the series has no entry
 * above what the marker commits (nothing more to wait for on it).
 */
function dropSuperseded(series: IndexedSeries, marker: Pick<IndexedMarker, 'round' | 'entryEpoch'>): boolean {
  const c = committedEntry(series, marker);
  if (!c) return !series.slots.some((e) => e !== undefined && e.epoch >= marker.entryEpoch); // only a stale owner's entries: never committed
  const older = series.slots[c.slot === 0 ? 1 : 0];
  if (older === undefined) return true;
  if (older.epoch === c.entry.epoch && older.round < c.entry.round) {
    older.state = undefined;
    return true;
  }
  return older.epoch < marker.entryEpoch || (older.epoch === marker.entryEpoch && older.round <= marker.round);
}

/** (epoch, round) order of markers: a later owner's marker is above every marker of an earlier one. */
function markerAbove(m: Pick<IndexedMarker, 'epoch' | 'round'>, held: Pick<IndexedMarker, 'epoch' | 'round'>): boolean {
  return m.epoch > held.epoch || (m.epoch === held.epoch && m.round > held.round);
}

/**
 * `bytes` itself, or a copy when it is a small view of a much larger buffer: a Kafka client hands
 * out each message as a slice of its whole fetch response (up to megabytes), and keeping one entry
 * of it would keep all of it until every other entry of that response is replaced.
 */
function own(bytes: Uint8Array): Uint8Array {
  return bytes.buffer.byteLength > 16 * 1024 && bytes.buffer.byteLength > 2 * bytes.byteLength ? new Uint8Array(bytes) : bytes; // a copy (Buffer#slice would be a view)
}

export interface LiveStateIndexOptions {
  /** The aggregator deployment (consumer group) whose keys to index; undefined: every group. */
  group?: string;
  /** Whether to keep the state bytes of a partition (default: all); otherwise only rounds and slots are kept. */
  retain?: (base: string) => boolean;
  /**
   * Drop the bytes of a series' older slot once a marker commits the newer one (default false: both
   * slots keep theirs). For readers of committed entries only (LiveStatsView): it halves what a
   * series holds while every series changes every round.
   */
  releaseSuperseded?: boolean;
  /**
   * Whether to keep series entries' state bytes at all (default true). False: an index that only
   * follows which series are live and who created them (counts for series caps and quotas), never
   * their stats; markers keep their shared state (the aggregator's settings).
   */
  seriesStates?: boolean;
  onError?: (err: unknown, key: string) => void;
  /** Called for each fenced write: a marker or entry of an owner older than the one the key already holds (see `fencedWrites`). */
  onFenced?: (fenced: FencedWrite) => void;
}

/** A write of a stale owner that the index ignored. */
export interface FencedWrite {
  key: string;
  base: string;
  /** The stale writer's epoch. */
  epoch: bigint;
  /** The epoch the key held (a later owner's). */
  heldEpoch: bigint;
}

/**
 * Everything the state topic holds, indexed by input partition and metric, fed one message at a
 * time in any order (`add`; pure, no I/O). It decodes only the small headers (rounds, kinds); the
 * series states stay bytes until a reader asks for one metric. Whole-partition snapshots of the
 * previous format are reassembled as before (`legacy`), so a state written by an older aggregator
 * can still be restored.
 */
export class LiveStateIndex {
  private readonly prefix: string;
  private readonly retain: (base: string) => boolean;
  private readonly releaseSuperseded: boolean;
  private readonly seriesStates: boolean;
  private readonly onError: (err: unknown, key: string) => void;
  private readonly onFenced: (fenced: FencedWrite) => void;
  /** Writes ignored because a later owner had written the same key (markers and series entries of stale owners). */
  fencedWrites = 0;
  private readonly parts = new Map<string, PartitionEntries>();
  private readonly legacySnapshots: SnapshotAssembler;

  constructor(options: LiveStateIndexOptions = {}) {
    this.prefix = options.group === undefined ? '' : `${options.group}/`;
    this.retain = options.retain ?? (() => true);
    this.releaseSuperseded = options.releaseSuperseded ?? false;
    this.seriesStates = options.seriesStates ?? true;
    this.onError = options.onError ?? (() => undefined);
    this.onFenced = options.onFenced ?? (() => undefined);
    this.legacySnapshots = new SnapshotAssembler(options.group, this.onError, { retain: this.retain });
  }

  /**
   * Feeds one message (an empty or null value is a tombstone). Returns the metrics whose committed
   * state may have changed, and whether a partition marker (shared state) changed.
   */
  add(key: string | null, value: Buffer | null | undefined): { metrics: string[]; marker: string | undefined } {
    const none = { metrics: [], marker: undefined };
    if (!key?.startsWith(this.prefix)) return none;
    const parsed = parseLiveStateKey(key);
    if (!parsed) {
      this.onError(new Error('not a key of the state topic'), key);
      return none;
    }
    try {
      const part = this.partitionFor(parsed.base);
      const tombstone = !value || value.length === 0;
      if (parsed.kind === 'legacy') {
        if (tombstone) part.legacyKeys.delete(key);
        else part.legacyKeys.add(key);
        this.legacySnapshots.add(key, value);
        return none;
      }
      if (parsed.kind === 'marker') {
        if (tombstone) return none; // markers are never deleted by the writer
        const m = decodeMarker(value);
        if (m.epoch > part.maxEpoch) part.maxEpoch = m.epoch;
        if (m.round > part.maxRound) part.maxRound = m.round;
        const held = part.marker;
        if (held && !markerAbove(m, held)) {
          // One key's messages arrive in the order they were written: a lower epoch after a higher
          // one is an owner that kept writing after the partition was handed over.
          if (m.epoch < held.epoch) this.fenced({ key, base: parsed.base, epoch: m.epoch, heldEpoch: held.epoch });
          return none;
        }
        part.marker = { ...m, shared: this.retain(parsed.base) ? own(m.shared) : undefined };
        if (this.releaseSuperseded) this.commitUncommitted(part, m);
        if (held && held.entryEpoch !== m.entryEpoch) {
          // A new owner's first round: every metric of the partition now reads entries of its epoch.
          part.pending.clear();
          return { metrics: [...part.metrics.keys()], marker: parsed.base };
        }
        const reached: string[] = [];
        for (const [metric, round] of part.pending) {
          if (round <= m.round) {
            reached.push(metric);
            part.pending.delete(metric);
          }
        }
        return { metrics: reached, marker: parsed.base };
      }
      const { ref, slot } = parsed;
      let metric = part.metrics.get(ref.metric);
      if (!metric) part.metrics.set(ref.metric, (metric = { overall: undefined, groups: undefined }));
      let series = ref.group === undefined ? metric.overall : metric.groups?.get(ref.group);
      if (tombstone) {
        if (!series) return none;
        countLive(part, series, -1);
        series.slots[slot] = undefined;
        countLive(part, series, 1); // the other slot may be live (a cut-short round's entry deleted)
        if (!series.slots[0] && !series.slots[1]) {
          if (ref.group === undefined) metric.overall = undefined;
          else metric.groups!.delete(ref.group);
          if (!metric.overall && !metric.groups?.size) part.metrics.delete(ref.metric);
        }
        return { metrics: [ref.metric], marker: undefined };
      }
      const e = decodeSeriesEntry(value);
      if (e.epoch > part.maxEpoch) part.maxEpoch = e.epoch;
      if (e.round > part.maxRound) part.maxRound = e.round;
      // One bigint per partition for the newest round and epoch, not two per entry (24 bytes each).
      const round = e.round === part.maxRound ? part.maxRound : e.round;
      const epoch = e.epoch === part.maxEpoch ? part.maxEpoch : e.epoch;
      const heldEpoch = series?.slots[slot]?.epoch;
      if (heldEpoch !== undefined && e.epoch < heldEpoch) {
        // The slot holds a later owner's entry: this one comes from a stale owner (same-key order).
        this.fenced({ key, base: parsed.base, epoch: e.epoch, heldEpoch });
        return none;
      }
      if (!series) {
        series = { ref, slots: [undefined, undefined] };
        if (ref.group === undefined) metric.overall = series;
        else (metric.groups ??= new Map()).set(ref.group, series);
      }
      countLive(part, series, -1);
      series.slots[slot] = { round, epoch, deleted: e.state === undefined, state: e.state && this.seriesStates && this.retain(parsed.base) ? own(e.state) : undefined, principal: e.principal };
      countLive(part, series, 1);
      // Committed on arrival (its marker came first, from another partition of the topic), or waits for it.
      if (this.releaseSuperseded && !(part.marker && dropSuperseded(series, part.marker))) part.uncommitted.push(series);
      if (!part.marker || e.round > part.marker.round || e.epoch !== part.marker.entryEpoch) {
        const pending = part.pending.get(ref.metric);
        if (pending === undefined || e.round > pending) part.pending.set(ref.metric, e.round);
      }
      return { metrics: [ref.metric], marker: undefined };
    } catch (err) {
      this.onError(err, key);
      return none;
    }
  }

  /** After a new marker: drops the superseded slots of the series it commits; the rest wait for a later one. */
  private commitUncommitted(part: PartitionEntries, marker: Pick<IndexedMarker, 'round' | 'entryEpoch'>): void {
    let kept = 0;
    for (const series of part.uncommitted) if (!dropSuperseded(series, marker)) part.uncommitted[kept++] = series;
    part.uncommitted.length = kept;
  }

  private fenced(f: FencedWrite): void {
    this.fencedWrites++;
    this.onFenced(f);
  }

  partition(base: string): PartitionEntries | undefined {
    return this.parts.get(base);
  }

  /** Partition bases, sorted (the order every reader merges in, so every replica shows the same numbers). */
  bases(): string[] {
    return [...this.parts.keys()].sort();
  }

  /** The most advanced whole-partition snapshot of the previous format, if its payload is held. */
  legacy(base: string): PartitionSnapshot | undefined {
    return this.legacySnapshots.get(base);
  }

  /** Whether a complete previous-format snapshot exists (held or not). */
  hasLegacy(base: string): boolean {
    return this.legacySnapshots.known(base) !== undefined;
  }

  /** Drops the state bytes held for `base` (rounds and slots stay known). */
  release(base: string): void {
    const part = this.parts.get(base);
    this.legacySnapshots.release(base);
    if (!part) return;
    if (part.marker) part.marker = { ...part.marker, shared: undefined };
    for (const s of part.allSeries()) {
      for (const e of s.slots) if (e) e.state = undefined;
    }
  }

  private partitionFor(base: string): PartitionEntries {
    let part = this.parts.get(base);
    if (!part) this.parts.set(base, (part = new PartitionEntries(base)));
    return part;
  }
}

