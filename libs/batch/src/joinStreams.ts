import { BatchInputError, describeValue } from './errors';
import { asEvent } from './extractColumns';
import { compileFieldGetter } from './fieldGetter';
import { toGroupKey, type GroupKey } from './GroupKey';
import { fieldName, nonNegativeNumber } from './optionCheckers';
import { parseTimestamp } from './parseTimestamp';

export type JoinType = 'inner' | 'left';

export interface JoinOptions {
  /** Field holding the join key on both sides (top level, then payload, or a dotted path). */
  key: string;
  /** `inner` (default): matched pairs only. `left`: also every unmatched left event, with `right: null`. */
  type?: JoinType;
  /**
   * Event-time bound in seconds: a pair matches only if |t_left − t_right| ≤ withinSeconds (inclusive at
   * both ends, like Spark's `leftTime BETWEEN rightTime - interval AND rightTime + interval`).
   * Omitted = no time bound (timestamps are then not read).
   */
  withinSeconds?: number;
}

/** One output row. `key` is the left event's key. */
export interface JoinRow<L = unknown, R = unknown> {
  key: GroupKey;
  left: L;
  right: R | null;
}

/**
 * Key join of two event streams (hash join: the hash table is built on the smaller side, the other is
 * streamed through it).
 *
 * Rules:
 * - Keys compare with their JSON type: `1` does not match `"1"`. Events whose key is absent or null never
 *   match (SQL/Spark null semantics); in a left join they are emitted with `right: null` and `key: null`.
 * - Duplicates on both sides produce the cross product (2 left × 3 right events with key k → 6 rows).
 * - Output order is fixed whichever side is smaller: by left index, then right index; a left-join row
 *   without a match sits at its left index. The event objects are the inputs themselves (not copies).
 * - Key values must be strings, finite numbers or booleans; `timestamp` (only read with `withinSeconds`)
 *   must be valid; otherwise `BatchInputError` naming `left[i].<key>` / `right[j].timestamp`.
 *
 * Memory: the build side's hash index (12–20 bytes per build event, see `KeyIndex`), the keys of both
 * sides (one array slot each; the strings are the events' own), 8 bytes per output pair, then the output
 * rows (~40 bytes each).
 */
export function joinStreams<L = unknown, R = unknown>(left: readonly L[], right: readonly R[], options: JoinOptions): JoinRow<L, R>[] {
  const keyField = fieldName(options.key, 'key');
  const type = options.type ?? 'inner';
  if (type !== 'inner' && type !== 'left') throw new BatchInputError('type', `must be "inner" or "left", got ${describeValue(type)}`);
  const windowMs = options.withinSeconds === undefined ? null : nonNegativeNumber(options.withinSeconds, 'withinSeconds') * 1000;

  const leftKeys = readKeys(left, keyField, 'left');
  const rightKeys = readKeys(right, keyField, 'right');
  const leftTimes = windowMs === null ? null : readTimes(left, 'left');
  const rightTimes = windowMs === null ? null : readTimes(right, 'right');
  const nl = left.length;
  const nr = right.length;

  const pairs = new PairBuffer(Math.max(16, Math.min(nl, nr)));
  const buildOnRight = nr <= nl;
  const buildKeys = buildOnRight ? rightKeys : leftKeys;
  const probeKeys = buildOnRight ? leftKeys : rightKeys;
  const buildTimes = buildOnRight ? rightTimes : leftTimes;
  const probeTimes = buildOnRight ? leftTimes : rightTimes;
  const index = new KeyIndex(buildKeys);
  const next = index.next;

  const leftMatched = type === 'left' && !buildOnRight ? new Uint8Array(nl) : null;
  for (let p = 0; p < probeKeys.length; p++) {
    const k = probeKeys[p];
    let b = index.first(k);
    let matched = false;
    for (; b !== -1; b = next[b]) {
      if (windowMs !== null && Math.abs(probeTimes![p] - buildTimes![b]) > windowMs) continue;
      matched = true;
      if (buildOnRight) pairs.push(p, b);
      else {
        pairs.push(b, p);
        if (leftMatched) leftMatched[b] = 1;
      }
    }
    if (!matched && buildOnRight && type === 'left') pairs.push(p, -1);
  }
  if (leftMatched) for (let l = 0; l < nl; l++) if (leftMatched[l] === 0) pairs.push(l, -1);

  // Probing the right side yields pairs in right order; a stable counting sort on the left index gives
  // the documented order (left index, then right index) in O(pairs + left).
  const order = buildOnRight ? null : countingSortByLeft(pairs, nl);
  const out: JoinRow<L, R>[] = new Array(pairs.size);
  for (let i = 0; i < pairs.size; i++) {
    const j = order === null ? i : order[i];
    const l = pairs.left[j];
    const r = pairs.right[j];
    out[i] = { key: leftKeys[l], left: left[l], right: r === -1 ? null : right[r] };
  }
  return out;
}

function readKeys(events: readonly unknown[], keyField: string, label: string): GroupKey[] {
  const get = compileFieldGetter(keyField);
  const keys: GroupKey[] = new Array(events.length);
  for (let i = 0; i < events.length; i++) keys[i] = toGroupKey(get(asEvent(events[i], label, i)), `${label}[${i}].${keyField}`);
  return keys;
}

function readTimes(events: readonly unknown[], label: string): Float64Array {
  const get = compileFieldGetter('timestamp');
  const times = new Float64Array(events.length);
  for (let i = 0; i < events.length; i++) times[i] = parseTimestamp(get(asEvent(events[i], label, i)), `${label}[${i}].timestamp`);
  return times;
}

/**
 * Hash index of the build side: key → first index, and `next[i]` = the following index with the same
 * key (ascending), or -1. String keys (the usual case) go into an open-addressing table of Int32 slots
 * (FNV-1a + murmur finaliser, linear probing, load ≤ 0.5) — about 3× faster to build than a `Map` with
 * 1M keys; numbers and booleans go into a `Map`. Memory: 8–16 bytes per build event for slots + 4 for `next`.
 * Not hardened against hash flooding: keys come from the pipeline's own topics.
 */
class KeyIndex {
  readonly next: Int32Array;
  private readonly slots: Int32Array;
  private readonly mask: number;
  private readonly others = new Map<GroupKey, number>();

  constructor(private readonly keys: GroupKey[]) {
    const n = keys.length;
    this.next = new Int32Array(n);
    let strings = 0;
    for (let i = 0; i < n; i++) if (typeof keys[i] === 'string') strings++;
    let cap = 16;
    while (cap < strings * 2) cap *= 2;
    this.slots = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
    for (let i = n - 1; i >= 0; i--) {
      const k = keys[i];
      if (k === null) continue;
      if (typeof k === 'string') {
        const h = this.slotOf(k);
        this.next[i] = this.slots[h];
        this.slots[h] = i;
      } else {
        this.next[i] = this.others.get(k) ?? -1;
        this.others.set(k, i);
      }
    }
  }

  /** First build index with key `k`, or -1. */
  first(k: GroupKey): number {
    if (k === null) return -1;
    if (typeof k === 'string') return this.slots[this.slotOf(k)];
    return this.others.get(k) ?? -1;
  }

  /** The slot holding `k`, or the empty slot where it would go. */
  private slotOf(k: string): number {
    let h = 0x811c9dc5 | 0;
    for (let c = 0; c < k.length; c++) h = Math.imul(h ^ k.charCodeAt(c), 16777619);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    let slot = h & this.mask;
    for (;;) {
      const at = this.slots[slot];
      if (at === -1 || this.keys[at] === k) return slot;
      slot = (slot + 1) & this.mask;
    }
  }
}

function countingSortByLeft(pairs: PairBuffer, nl: number): Int32Array {
  const starts = new Int32Array(nl + 1);
  for (let i = 0; i < pairs.size; i++) starts[pairs.left[i] + 1]++;
  for (let l = 0; l < nl; l++) starts[l + 1] += starts[l];
  const order = new Int32Array(pairs.size);
  for (let i = 0; i < pairs.size; i++) order[starts[pairs.left[i]]++] = i;
  return order;
}

class PairBuffer {
  left: Int32Array;
  right: Int32Array;
  size = 0;
  constructor(capacity: number) {
    this.left = new Int32Array(capacity);
    this.right = new Int32Array(capacity);
  }
  push(l: number, r: number): void {
    if (this.size === this.left.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.left = grow(this.left);
      this.right = grow(this.right);
    }
    this.left[this.size] = l;
    this.right[this.size++] = r;
  }
}
