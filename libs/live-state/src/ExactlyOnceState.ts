import { StreamingAggregator, type EventTimeWatermark, type SeriesRef } from '@pipeline/aggregation';
import { CompactedTopicView, type EventBus, type IncomingMessage, type MessageBatch, type OutgoingMessage, type Subscription, type TopicPartition, type TopicPartitionOffset } from '@pipeline/kafka';
import { StateUnavailableError } from './errors';
import { committedEntry, LiveStateIndex, type PartitionEntries } from './LiveStateIndex';
import { markerKey, parseLiveStateKey, partitionBase, seriesId, seriesKey, type Slot } from './liveStateKeys';
import { decodeMarker, decodeSeriesEntry, encodeMarker, encodeSeriesEntry } from './liveStateRecords';
import { nextTurn, SlicedQueue, SLICE_MS } from './SlicedQueue';
import { performance } from 'node:perf_hooks';

/** The live state of one input partition, as the owner folds messages into it. */
export interface LivePartition {
  readonly topic: string;
  readonly partition: number;
  readonly agg: StreamingAggregator;
  readonly watermark: EventTimeWatermark;
  /** Every message below this offset is folded into `agg`. */
  readonly nextOffset: bigint;
}

interface CommittedSlot {
  ref: SeriesRef;
  slot: Slot;
  deleted: boolean;
}

interface Work {
  ref: SeriesRef;
  removed: boolean;
}

interface OwnedPartition extends LivePartition {
  readonly base: string;
  nextOffset: bigint;
  /** Messages were folded (or a commit failed) since the last committed round. */
  dirty: boolean;
  /** The last round this partition's state topic holds (committed or not): the next one is above it. */
  round: bigint;
  /** Series id → the slot holding its committed entry. */
  readonly committed: Map<string, CommittedSlot>;
  /** Changes of rounds that failed: written again by the next one. */
  carry: Map<string, Work>;
  /** Deleted series being removed from the topic: phase 1 deletes the older slot, phase 2 the deletion record. */
  readonly cleanup: Map<string, 1 | 2>;
  /** Slots above the committed round found at restore (a round cut short by a crash): deleted by the next round. */
  garbage: Array<{ ref: SeriesRef; slot: Slot }>;
  /** Keys of the previous whole-partition format: deleted once a round is committed in this one. */
  legacyKeys: string[];
  /** Set while a round serializes the partition (in slices): folding waits for it, so the bytes match `nextOffset`. */
  sealing: Promise<void> | undefined;
  /** This owner's epoch: one above every epoch the restore saw on the partition's keys. */
  readonly epoch: bigint;
  /** The claim marker published before the first round (undefined: none, see `restore`). */
  claim: Buffer | undefined;
  /** The claim came back first among the markers of its epoch: this owner may write rounds. */
  claimSeen: boolean;
}

/** What `onFenced` reports. */
export interface FencingEvent {
  /** `stale_write`: another replica wrote a key of a partition this one owns, with a lower epoch (repaired by the next round). `superseded`: a later owner claimed a partition this one held (dropped, nothing more is written for it). */
  kind: 'stale_write' | 'superseded';
  base: string;
  key: string;
  /** The epoch of the write seen. */
  epoch: bigint;
  /** This replica's epoch for the partition. */
  ownEpoch: bigint;
}

export interface ExactlyOnceStateOptions {
  bus: EventBus;
  /** The compacted state topic (`pipeline.aggregator.snapshots`). */
  topic: string;
  /** The consumer group of the input topics; its state keys start with `<group>/`. */
  group: string;
  /** An empty aggregator, for a partition with no state on the topic. */
  createAggregator(): StreamingAggregator;
  /** A partition's event-time watermark starting at `initialMs` (0 for a new partition). */
  createWatermark(initialMs: number): EventTimeWatermark;
  /**
   * Epoch ms before which a partition that has never been aggregated skips its history (older
   * events could only count as expired); undefined reads it all.
   */
  historyHorizonMs?(): number | undefined;
  /** Runs on each changed partition as its round starts, before its changes are taken (e.g. idle expiry). */
  beforeRound?(partition: LivePartition): void;
  /** Most bytes of series entries per produce request (default 1 MiB; a round of 10,000 changed series is ~31 MB). */
  publishBytes?: number;
  /**
   * Most messages per produce request (default 1,000): the client encodes (and partitions, hashing
   * each key) a request in one go, ~4,000 small entries of 1 MiB took it 40–80 ms on a busy host.
   */
  publishMessages?: number;
  /** Wall clock for the markers' `producedAtMs` (default Date.now). */
  now?(): number;
  /**
   * Longest stretch (ms) that folding a batch or serializing a round holds the event loop before
   * letting others run (default 4; 0: yield at every check, i.e. every 64 messages or 16 series).
   */
  sliceMs?: number;
  /** How long a view may take to read the topic to its end (ms, default 60,000). */
  catchUpTimeoutMs?: number;
  logger?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** Each write of a stale owner seen on a partition this process owns, and each partition it lost to a later owner. */
  onFenced?(event: FencingEvent): void;
}

export interface RoundReport {
  /** Partitions whose round was committed (marker acknowledged). */
  partitions: number;
  /** Series entries written (states and deletion records). */
  series: number;
  /** Messages written: entries, tombstones and markers. */
  messages: number;
  /** Produce requests (`publishBatch` calls). */
  publishes: number;
  /** Most produce requests one partition's round took. */
  maxPublishes: number;
  /** Bytes of the messages written. */
  bytes: number;
  /** Offsets committed after the round (one per committed partition), or attempted when `commitFailed`. */
  offsets: TopicPartitionOffset[];
  /** The first error of a partition whose round failed (it is retried by the next round). */
  failed: unknown;
  commitFailed: unknown;
}

/**
 * Exactly-once partition state without transactions, over a compacted topic.
 *
 * The owner of an input partition folds its messages into a `StreamingAggregator` (`handle`), and
 * every round (`round`) writes what changed to the state topic: each changed series as its own entry
 * (`<base>|s<slot>|[metric, group]`), each removed series as a deletion record, then — only after
 * Kafka acknowledged all of those — the partition marker (`<base>|p`) holding the round number,
 * the input offset the state has consumed up to (`nextOffset`), the watermark and the state that
 * does not grow with the series. Only after the marker is acknowledged is `nextOffset` committed
 * in the input group. So a round costs what changed, not the whole state.
 *
 * Slots: a series has two keys; a round writes the one not holding the series' committed entry,
 * and an entry counts only when its round is ≤ the marker's and it was written in the marker's `entryEpoch` (`committedEntry`). A crash halfway
 * through a round leaves the previous committed entry of every series intact, and the marker still
 * names the previous round: a restore reads exactly the last committed state. The next owner
 * deletes the cut-short round's entries (`garbage`) in its first round, before its first marker.
 *
 * Restore: on the first batch of a partition, the view reads the topic to its end, then the state is
 * rebuilt from the marker and the committed entries; messages below the marker's `nextOffset` are
 * skipped, and if the consumer starts above it, the consumer is moved back to `nextOffset`. So a crash (even SIGKILL) or a
 * rebalance replays exactly the messages the restored state has not folded in. State written in
 * the previous format (one whole snapshot per partition, in chunks) is restored too, then written
 * out in this one, and its keys deleted.
 *
 * A partition this process owns keeps no copy of its entries (its state is live); if it returns
 * after another owner, the state is read from the topic again.
 *
 * Fencing. After a rebalance the previous owner may still be writing a round (or write one later:
 * paused by a long GC or SIGSTOP, it wakes up still believing it owns the partition; Kafka refuses
 * its offset commit, but nothing refuses its writes to this topic). Every owner therefore writes
 * under an epoch, and every record carries it:
 *
 * - Source: at restore the new owner takes `epoch = 1 + the highest epoch on any key of the
 *   partition` and publishes a claim — the marker it restored, re-stamped with its epoch (same
 *   round, offset and state, `entryEpoch` still the previous owner's) — before it folds or writes
 *   anything. It writes rounds only once its own view has read its claim back as the first marker
 *   of that epoch on the marker key. Two owners that picked the same epoch (one paused between
 *   reading the topic and publishing its claim) see the same order of that one key: the one whose
 *   claim came second gives up (`StateUnavailableError`, retried: it restores again one epoch up).
 *   So each epoch has one writer, and a later owner's epoch is above the earlier's (it read the
 *   earlier's claim, acknowledged before the earlier wrote anything). The consumer group generation
 *   is not used: kafkajs does not expose it.
 * - Readers (LiveStateIndex, under LiveStatsView and the restore here) order one key's values by
 *   epoch: a marker replaces the held one only if its (epoch, round) is higher, and an entry whose
 *   epoch is below the one its slot holds is ignored; both are counted (`fencedWrites`). Only the
 *   order of one key is relied on: Kafka keeps it (one key, one partition), whereas keys of one
 *   input partition spread over the topic's partitions and arrive interleaved.
 * - A marker commits only entries of its `entryEpoch`. The new owner's first round rewrites every
 *   committed series in its own epoch, so from its first marker on no entry of an older epoch
 *   counts, whatever round number a stale owner gave it; the claim keeps committing the previous
 *   owner's entries up to the restored round, so until then readers see exactly the restored state.
 *   The price: one round of the whole partition state per handover.
 * - The paused old owner that wakes up: its claim was read by the new owner (so the new epoch is
 *   higher); its marker lands after the claim on the same key and is ignored; its entries carry the
 *   old epoch and are never committed by the new owner's markers; and its own view reads the new
 *   claim, so it drops the partition before its next round (`superseded`; a round already sealed
 *   checks again before its marker). What readers cannot fence is an older value surviving
 *   compaction: a stale write (or tombstone) that lands after the new owner's on a key leaves only
 *   itself once the log is compacted. The new owner reads the topic too: a stale write on a key of a
 *   partition it owns (`stale_write`) makes its next round rewrite that series (into the other
 *   slot) or its marker, so the key it depends on is its own again within a round, long before a
 *   segment is compacted (segment.ms 60 s plus the cleaner's delay).
 */
export class ExactlyOnceState {
  private readonly owned = new Map<string, OwnedPartition>();
  /** Partitions this process has owned: the index misses what it wrote for them, so a restore reads them back. */
  private readonly ownedBefore = new Set<string>();
  private readonly index: LiveStateIndex;
  /** State-topic messages not yet indexed: indexed in slices, and all of them before the index is read (`indexed()`). */
  private readonly pending: SlicedQueue<[string, Buffer | null]>;
  private readonly view: CompactedTopicView<never>;
  private sub: Subscription | undefined;
  private readonly publishBytes: number;
  private readonly publishMessages: number;
  private readonly now: () => number;
  private readonly catchUpTimeoutMs: number;
  private readonly sliceMs: number;

  constructor(private readonly opts: ExactlyOnceStateOptions) {
    this.publishBytes = opts.publishBytes ?? 1024 * 1024;
    this.publishMessages = Math.max(1, opts.publishMessages ?? 1000);
    this.now = opts.now ?? Date.now;
    this.catchUpTimeoutMs = opts.catchUpTimeoutMs ?? 60_000;
    this.sliceMs = opts.sliceMs ?? SLICE_MS;
    this.index = this.newIndex((base) => !this.owned.has(base));
    // What this process writes for a partition it owns is not indexed (its state is live here); if
    // the partition comes back after an owner elsewhere, it is read from the topic again (`fetch`).
    this.pending = new SlicedQueue(([key, value]) => {
      const bar = key.indexOf('|');
      const owned = this.owned.get(bar < 0 ? key : key.slice(0, bar));
      if (owned) this.watchOwned(owned, key, value);
      else this.index.add(key, value);
    }, this.sliceMs);
    this.view = CompactedTopicView.forwarding(this.opts.bus, { topic: this.opts.topic, groupPrefix: `${opts.group}-state-restore`, onMessage: (key, value) => this.pending.push([key, value]) });
  }

  /** Reads the state topic to its end (call before subscribing to the input). */
  async start(): Promise<void> {
    await this.view.start();
    await this.view.catchUp(this.catchUpTimeoutMs);
  }

  /**
   * Reads the state topic to its end and applies what was read, a later owner's claim or a stale
   * owner's write on a partition this process owns included (rounds do this with whatever has
   * been read already; this waits for the end).
   */
  async catchUp(): Promise<void> {
    await this.view.catchUp(this.catchUpTimeoutMs);
    this.pending.flush();
  }

  /** The input subscription (manual commits): used to seek and to commit after each round. */
  attach(sub: Subscription): void {
    this.sub = sub;
  }

  /** Partitions with a committed round on the topic (this deployment's). */
  get knownPartitions(): number {
    const index = this.indexed();
    return index.bases().filter((b) => index.partition(b)!.marker !== undefined || index.hasLegacy(b)).length;
  }

  /** The partitions this process owns, live. */
  partitions(): LivePartition[] {
    return [...this.owned.values()];
  }

  /** After a (re)assignment: partitions no longer assigned are dropped (the new owner restores them). */
  onAssignment(assigned: readonly TopicPartition[]): void {
    const keep = new Set(assigned.map((a) => partitionBase(this.opts.group, a.topic, a.partition)));
    for (const base of [...this.owned.keys()]) if (!keep.has(base)) this.owned.delete(base);
  }

  /**
   * Hands `fold` each message of `batch` the partition's state has not folded in yet, in offset
   * order, restoring the state first if this is the partition's first batch here. Returns without
   * folding when the consumer had to be moved (seek) instead.
   */
  async handle(batch: MessageBatch, fold: (partition: LivePartition, message: IncomingMessage) => void): Promise<void> {
    const base = partitionBase(this.opts.group, batch.topic, batch.partition);
    const first = BigInt(batch.messages[0]!.offset);
    let p = this.owned.get(base);
    if (!p) {
      // The view may lag a round another owner (or this process, before a revocation) just
      // committed: read the topic to its end first, or the partition could look new and start
      // empty at the consumer's position.
      await this.view.catchUp(this.catchUpTimeoutMs);
      p = await this.restore(batch.topic, batch.partition, first);
      this.owned.set(base, p);
      this.ownedBefore.add(base);
      this.indexed().release(base); // live from here on: no copy of it is kept
      if (p.claim) await this.claim(p);
      this.opts.logger?.info({ topic: batch.topic, partition: batch.partition, nextOffset: p.nextOffset.toString(), firstOffset: first.toString(), round: p.round.toString(), epoch: p.epoch.toString() }, 'partition state restored');
    }
    if (first > p.nextOffset) {
      this.opts.logger?.info({ base, from: first.toString(), to: p.nextOffset.toString() }, 'consumer is ahead of the restored state; seeking back');
      this.sub!.seek({ topic: batch.topic, partition: batch.partition, offset: p.nextOffset.toString() });
      return;
    }
    if (BigInt(batch.messages[batch.messages.length - 1]!.offset) < p.nextOffset && first < p.nextOffset - 10_000n) {
      // Far behind the state (e.g. skipping history): jump instead of reading every message.
      this.sub!.seek({ topic: batch.topic, partition: batch.partition, offset: p.nextOffset.toString() });
      return;
    }
    // Folded in slices of a few ms (a batch of 1,000 events must not hold the event loop), never
    // while a round is serializing this partition: its bytes must be the state at its `nextOffset`.
    let sliceEnd = performance.now() + this.sliceMs;
    let n = 0;
    for (const m of batch.messages) {
      if ((++n & 63) === 0 && performance.now() > sliceEnd) {
        await nextTurn();
        sliceEnd = performance.now() + this.sliceMs;
      }
      while (p.sealing) await p.sealing;
      const offset = BigInt(m.offset);
      if (offset < p.nextOffset) continue; // already in the restored state
      p.nextOffset = offset + 1n;
      fold(p, m);
      p.dirty = true; // a round between two slices writes what is folded so far
    }
    p.dirty = true; // even for a batch folded before: the next round commits the offset the state holds
  }

  /**
   * One round: for each owned partition with something to write, its changed series, deletions and
   * clean-ups, then its marker; then the input offsets of the partitions whose marker Kafka
   * acknowledged are committed. A partition whose writes fail keeps its changes for the next round
   * (its state topic still holds the previous committed round, so a crash now is still exact).
   */
  async round(): Promise<RoundReport> {
    const report: RoundReport = { partitions: 0, series: 0, messages: 0, publishes: 0, maxPublishes: 0, bytes: 0, offsets: [], failed: undefined, commitFailed: undefined };
    for (const p of [...this.owned.values()]) {
      if (!p.dirty && p.garbage.length === 0 && p.cleanup.size === 0 && p.carry.size === 0) continue;
      if (this.owned.get(p.base) !== p) continue; // revoked while an earlier partition was written
      await this.partitionRound(p, report);
      // A partition's entries are serialized in one go (they must match its offset); between
      // partitions the event loop serves others (an in-memory bus resolves publishes at once).
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (report.offsets.length > 0) {
      try {
        await this.sub?.commit(report.offsets); // only after the state is stored: committed offset ≤ marker offset
      } catch (err) {
        // The rounds are stored; a restart replays from the older commit up to them, exactly.
        report.commitFailed = err;
        for (const o of report.offsets) {
          const p = this.owned.get(partitionBase(this.opts.group, o.topic, o.partition));
          if (p) p.dirty = true;
        }
      }
    }
    return report;
  }

  async stop(): Promise<void> {
    await this.view.stop();
  }

  /** Publishes `p`'s claim and waits until the view has read it back first among its epoch's markers (see "Fencing"). */
  private async claim(p: OwnedPartition): Promise<void> {
    try {
      await this.opts.bus.publishBatch([{ topic: this.opts.topic, key: markerKey(p.base), value: p.claim! }]);
      await this.view.catchUp(this.catchUpTimeoutMs);
      this.pending.flush();
    } catch (err) {
      if (this.owned.get(p.base) === p) this.owned.delete(p.base);
      throw err;
    }
    if (this.owned.get(p.base) !== p || !p.claimSeen) {
      if (this.owned.get(p.base) === p) this.owned.delete(p.base);
      throw new StateUnavailableError(`another replica claimed ${p.base} at epoch ${p.epoch} first; restoring again above it`);
    }
  }

  /**
   * A message of a partition this process owns, read back from the topic: its own writes pass; a
   * later owner's claim drops the partition; a stale owner's write is repaired by the next round.
   */
  private watchOwned(p: OwnedPartition, key: string, value: Buffer | null): void {
    const parsed = parseLiveStateKey(key);
    if (!parsed || parsed.kind === 'legacy') return;
    const tombstone = !value || value.length === 0;
    try {
      if (parsed.kind === 'marker') {
        if (tombstone) return;
        const epoch = decodeMarker(value).epoch;
        if (epoch > p.epoch || (epoch === p.epoch && !p.claimSeen && !(p.claim && value.equals(p.claim)))) this.supersede(p, key, epoch);
        else if (epoch === p.epoch) p.claimSeen = true;
        else {
          this.staleWrite(p, key, epoch);
          p.dirty = true; // the next round's marker is the key's last value again
        }
        return;
      }
      const id = seriesId(parsed.ref);
      if (tombstone) {
        // This owner never deletes the slot a live committed entry is in: someone else did.
        const c = p.committed.get(id);
        if (c && c.slot === parsed.slot && !c.deleted && !p.carry.has(id)) p.carry.set(id, { ref: parsed.ref, removed: false });
        return;
      }
      const epoch = decodeSeriesEntry(value).epoch;
      if (epoch > p.epoch) this.supersede(p, key, epoch);
      else if (epoch < p.epoch) {
        this.staleWrite(p, key, epoch);
        if (!p.carry.has(id)) p.carry.set(id, { ref: parsed.ref, removed: false }); // rewritten next round, into the slot not hit
      }
    } catch {
      // Undecodable: the index reports it once the partition is read by a reader.
    }
  }

  private staleWrite(p: OwnedPartition, key: string, epoch: bigint): void {
    this.opts.logger?.warn({ base: p.base, key, epoch: epoch.toString(), ownEpoch: p.epoch.toString() }, 'a stale owner wrote to a partition this replica owns; its write is fenced and the next round rewrites the key');
    this.opts.onFenced?.({ kind: 'stale_write', base: p.base, key, epoch, ownEpoch: p.epoch });
  }

  private supersede(p: OwnedPartition, key: string, epoch: bigint): void {
    if (this.owned.get(p.base) !== p) return;
    this.owned.delete(p.base); // nothing more is written for it; a batch that still comes restores it again above the new epoch
    this.opts.logger?.warn({ base: p.base, key, epoch: epoch.toString(), ownEpoch: p.epoch.toString() }, 'a later owner claimed this partition; dropping it');
    this.opts.onFenced?.({ kind: 'superseded', base: p.base, key, epoch, ownEpoch: p.epoch });
  }

  private async partitionRound(p: OwnedPartition, report: RoundReport): Promise<void> {
    this.pending.flush(); // a later owner's claim read meanwhile drops `p` before it writes anything
    if (this.owned.get(p.base) !== p) return;
    // The partition is sealed while it is serialized (in slices of a few ms, so a round of
    // thousands of changed series never holds the event loop in one go): `handle` folds nothing
    // into it meanwhile, so the bytes match `nextOffset` exactly. During the writes that follow it
    // folds again.
    let unseal!: () => void;
    p.sealing = new Promise<void>((resolve) => (unseal = resolve));
    let sealed: Sealed;
    try {
      sealed = await this.seal(p);
    } finally {
      p.sealing = undefined;
      unseal();
    }
    const { round, nextOffset, work, entries, written, series, marker } = sealed;
    if (this.owned.get(p.base) !== p) return; // revoked while it was serialized: the new owner restores the committed round
    const wasDirty = p.dirty;
    p.dirty = false;
    let publishes = 0;
    try {
      for (const batch of this.batches(entries)) {
        await this.opts.bus.publishBatch(batch);
        publishes++;
      }
      this.pending.flush();
      if (this.owned.get(p.base) !== p) return; // superseded while its entries were written: no marker commits them
      await this.opts.bus.publishBatch([{ topic: this.opts.topic, key: markerKey(p.base), value: marker }]);
      publishes++;
    } catch (err) {
      // Not committed: these writes sit in slots no committed entry uses, and the retry rewrites them.
      for (const [id, w] of work) if (!p.carry.has(id)) p.carry.set(id, w);
      p.dirty ||= wasDirty;
      p.round = round; // its entries may be on the topic: number the retry above them
      report.failed ??= err;
      report.publishes += publishes;
      return;
    }
    p.round = round;
    p.garbage = [];
    for (const [id, phase] of [...p.cleanup]) {
      if (work.has(id)) continue;
      if (phase === 1) p.cleanup.set(id, 2);
      else {
        p.cleanup.delete(id);
        p.committed.delete(id);
      }
    }
    for (const [id, w] of written) {
      p.committed.set(id, { ref: work.get(id)!.ref, slot: w.slot, deleted: w.deleted });
      if (w.deleted) p.cleanup.set(id, 1);
      else p.cleanup.delete(id);
    }
    if (p.legacyKeys.length > 0) {
      const keys = p.legacyKeys;
      p.legacyKeys = [];
      try {
        await this.opts.bus.publishBatch(keys.map((key) => ({ topic: this.opts.topic, key, value: Buffer.alloc(0) })));
        publishes++;
        entries.push(...keys.map((key) => ({ topic: this.opts.topic, key, value: Buffer.alloc(0) })));
      } catch (err) {
        p.legacyKeys = keys; // the committed round does not depend on them: deleted next round
        this.opts.logger?.warn({ err: (err as Error).message, base: p.base }, 'could not delete previous-format snapshot keys; retrying next round');
      }
    }
    report.partitions++;
    report.series += series;
    report.messages += entries.length + 1;
    report.publishes += publishes;
    report.maxPublishes = Math.max(report.maxPublishes, publishes);
    report.bytes += marker.length + entries.reduce((n, m) => n + (m.value as Buffer).length, 0);
    report.offsets.push({ topic: p.topic, partition: p.partition, offset: nextOffset.toString() });
  }

  /** Everything a round of `p` writes, serialized while `p` is sealed (nothing is folded into it meanwhile). */
  private async seal(p: OwnedPartition): Promise<Sealed> {
    if (p.dirty) this.opts.beforeRound?.(p);
    const round = p.round + 1n;
    const nextOffset = p.nextOffset;
    const work = p.carry;
    p.carry = new Map();
    const { changed, removed } = p.agg.takeChanges();
    for (const ref of changed) work.set(seriesId(ref), { ref, removed: false });
    for (const ref of removed) work.set(seriesId(ref), { ref, removed: true });
    const entries: OutgoingMessage[] = [];
    const put = (key: string, value: Buffer) => entries.push({ topic: this.opts.topic, key, value });
    for (const g of p.garbage) put(seriesKey(p.base, g.slot, g.ref), Buffer.alloc(0));
    for (const [id, phase] of p.cleanup) {
      const c = p.committed.get(id);
      if (!c || work.has(id)) continue;
      put(seriesKey(p.base, phase === 1 ? other(c.slot) : c.slot, c.ref), Buffer.alloc(0));
    }
    const written = new Map<string, { slot: Slot; deleted: boolean }>();
    let series = 0;
    let sliceEnd = performance.now() + this.sliceMs;
    let n = 0;
    for (const [id, w] of work) {
      if ((++n & 15) === 0 && performance.now() > sliceEnd) {
        await nextTurn();
        sliceEnd = performance.now() + this.sliceMs;
      }
      const c = p.committed.get(id);
      const slot: Slot = c ? other(c.slot) : 0;
      const state = w.removed ? undefined : p.agg.serializeSeries(w.ref);
      if (state) {
        put(seriesKey(p.base, slot, w.ref), encodeSeriesEntry({ round, epoch: p.epoch, principal: p.agg.seriesPrincipal(w.ref), state }));
        written.set(id, { slot, deleted: false });
        series++;
      } else if (c && !c.deleted) {
        put(seriesKey(p.base, slot, w.ref), encodeSeriesEntry({ round, epoch: p.epoch, state: undefined }));
        written.set(id, { slot, deleted: true });
        series++;
      } else if (!c) {
        put(seriesKey(p.base, slot, w.ref), Buffer.alloc(0)); // whatever a failed round left there
      }
    }
    const marker = encodeMarker({ round, nextOffset, epoch: p.epoch, entryEpoch: p.epoch, watermarkMs: p.watermark.ms, producedAtMs: this.now(), shared: p.agg.serializeShared() });
    return { round, nextOffset, work, entries, written, series, marker };
  }

  /** Splits messages into produce requests of at most `publishMessages` and `publishBytes` (one message alone may exceed it). */
  private *batches(messages: OutgoingMessage[]): Generator<OutgoingMessage[]> {
    let batch: OutgoingMessage[] = [];
    let bytes = 0;
    for (const m of messages) {
      const size = (m.value as Buffer).length + (m.key?.length ?? 0);
      if (batch.length > 0 && (bytes + size > this.publishBytes || batch.length === this.publishMessages)) {
        yield batch;
        batch = [];
        bytes = 0;
      }
      batch.push(m);
      bytes += size;
    }
    if (batch.length > 0) yield batch;
  }

  private async restore(topic: string, partition: number, firstOffset: bigint): Promise<OwnedPartition> {
    const base = partitionBase(this.opts.group, topic, partition);
    // A partition owned here before: what this process wrote for it was not indexed, so read it back.
    const index = this.ownedBefore.has(base) ? await this.readBack(base) : this.indexed();
    let part = index.partition(base);
    // See "Fencing": one above every epoch written for the partition, fenced writes included.
    const epoch = (part?.maxEpoch ?? 0n) + 1n;
    const owned = (o: Omit<OwnedPartition, 'topic' | 'partition' | 'base' | 'carry' | 'cleanup' | 'committed' | 'sealing' | 'epoch' | 'claim' | 'claimSeen'> & Partial<Pick<OwnedPartition, 'committed' | 'cleanup' | 'carry'>>): OwnedPartition => ({
      topic, partition, base, carry: new Map(), committed: new Map(), cleanup: new Map(), sealing: undefined, epoch, claim: undefined, claimSeen: false, ...o,
    });
    if (part?.marker) {
      if (!hasBytes(part)) part = (await this.fetch(base)).partition(base)!;
      const marker = part.marker!;
      const agg = StreamingAggregator.fromShared(marker.shared!);
      const committed = new Map<string, CommittedSlot>();
      const cleanup = new Map<string, 1 | 2>();
      const carry = new Map<string, Work>();
      const garbage: OwnedPartition['garbage'] = [];
      for (const series of part.allSeries()) {
        const c = committedEntry(series, marker);
        const id = seriesId(series.ref);
        if (c) {
          committed.set(id, { ref: series.ref, slot: c.slot, deleted: c.entry.deleted });
          if (c.entry.deleted) cleanup.set(id, 1);
          else {
            agg.loadSeries(series.ref, c.entry.state!, c.entry.principal);
            carry.set(id, { ref: series.ref, removed: false }); // the first round rewrites it in this owner's epoch
          }
        }
        for (const slot of [0, 1] as const) {
          const e = series.slots[slot];
          // Above the committed round (cut short), or of another epoch (a stale owner's): never committed again.
          if (e && slot !== c?.slot && (e.round > marker.round || e.epoch !== marker.entryEpoch)) garbage.push({ ref: series.ref, slot });
        }
      }
      const p = owned({ agg, watermark: this.opts.createWatermark(marker.watermarkMs), nextOffset: marker.nextOffset, dirty: false, round: part.maxRound, committed, cleanup, carry, garbage, legacyKeys: [...part.legacyKeys] });
      // The claim: the restored marker as it is (it still commits the previous owner's entries), under this epoch.
      p.claim = encodeMarker({ ...marker, epoch, shared: marker.shared! });
      return p;
    }
    // No committed round in this format: whatever series entries exist are from a cut-short first round.
    const garbage: OwnedPartition['garbage'] = [];
    for (const series of part?.allSeries() ?? []) for (const slot of [0, 1] as const) if (series.slots[slot]) garbage.push({ ref: series.ref, slot });
    const round = part?.maxRound ?? 0n;
    const legacyKeys = [...(part?.legacyKeys ?? [])];
    if (index.hasLegacy(base)) {
      const legacy = index.legacy(base) ?? (await this.fetch(base)).legacy(base)!;
      const agg = StreamingAggregator.deserialize(legacy.state);
      agg.markAllChanged(); // written out in this format by the first round
      this.opts.logger?.info({ base, nextOffset: legacy.nextOffset.toString() }, 'restored a previous-format snapshot; the next round rewrites it as series entries');
      // No claim: a marker would hide the whole-partition snapshot from a restore before the first
      // round. Its writers predate fencing, and this epoch is above any a stale one could hold.
      const p = owned({ agg, watermark: this.opts.createWatermark(legacy.watermarkMs), nextOffset: legacy.nextOffset, dirty: true, round, garbage, legacyKeys });
      p.claimSeen = true;
      return p;
    }
    const p = owned({ agg: this.opts.createAggregator(), watermark: this.opts.createWatermark(0), nextOffset: firstOffset, dirty: false, round, garbage, legacyKeys });
    const horizon = this.opts.historyHorizonMs?.();
    if (horizon !== undefined) {
      // Never aggregated: skip history older than the longest window (it could only count as
      // expired), so a new deployment is live in seconds, not after re-reading days of retention.
      const start = (await this.opts.bus.offsetsForTime(topic, horizon)).get(partition) ?? firstOffset;
      if (start > firstOffset) {
        p.nextOffset = start;
        this.opts.logger?.info({ base, from: firstOffset.toString(), to: start.toString() }, 'new partition: skipping history older than the window');
      }
    }
    // The claim of a partition with no state: empty at its start offset, committing no entry (of this epoch, none exists yet).
    p.claim = encodeMarker({ round, nextOffset: p.nextOffset, epoch, entryEpoch: epoch, watermarkMs: 0, producedAtMs: this.now(), shared: p.agg.serializeShared() });
    return p;
  }

  /** Reads the topic once more for one partition whose bytes were not kept (it was owned here then). */
  private async fetch(base: string): Promise<LiveStateIndex> {
    const one = await this.readBack(base);
    const part = one.partition(base);
    // Never start empty over a state that exists: the batch fails and is redelivered.
    if (part?.marker ? !hasBytes(part) : !one.legacy(base)) throw new StateUnavailableError(`state of ${base} could not be read back from ${this.opts.topic}`);
    this.opts.logger?.info({ base }, 'state read back for a partition owned earlier');
    return one;
  }

  /** What the topic holds of one partition, with its bytes, read from the beginning. */
  private async readBack(base: string): Promise<LiveStateIndex> {
    const one = this.newIndex((b) => b === base);
    const reader = this.viewInto(one, `${this.opts.group}-state-fetch`);
    await reader.start();
    try {
      await reader.catchUp(this.catchUpTimeoutMs);
    } finally {
      await reader.stop();
    }
    return one;
  }

  /** The index of the state topic with every message delivered so far. */
  private indexed(): LiveStateIndex {
    this.pending.flush();
    return this.index;
  }

  private newIndex(retain: (base: string) => boolean): LiveStateIndex {
    return new LiveStateIndex({ group: this.opts.group, retain, onError: (err, key) => this.opts.logger?.warn({ err, key }, 'ignoring an undecodable state-topic message') });
  }

  private viewInto(index: LiveStateIndex, groupPrefix: string): CompactedTopicView<never> {
    return CompactedTopicView.forwarding(this.opts.bus, { topic: this.opts.topic, groupPrefix, onMessage: (key, value) => index.add(key, value) });
  }
}

interface Sealed {
  round: bigint;
  nextOffset: bigint;
  work: Map<string, Work>;
  entries: OutgoingMessage[];
  written: Map<string, { slot: Slot; deleted: boolean }>;
  series: number;
  marker: Buffer;
}

function other(slot: Slot): Slot {
  return slot === 0 ? 1 : 0;
}

/** Whether the marker's shared state and every committed series state are held. */
function hasBytes(part: PartitionEntries): boolean {
  const marker = part.marker;
  if (!marker?.shared) return false;
  for (const series of part.allSeries()) {
    const c = committedEntry(series, marker);
    if (c && !c.entry.deleted && !c.entry.state) return false;
  }
  return true;
}
