/**
 * The one shape every mergeable algorithm in this repo has (aggregation sketches, batch partials).
 *
 *   const a = SlidingWindow.create(opts); a.record(...); a.merge(b); a.result(nowMs);
 *   const copy = SlidingWindow.deserialize(a.serialize());
 *
 * Laws (tested per accumulator): merge is associative and commutative on results; merging an
 * empty accumulator changes nothing; `merge(other)` never mutates `other`; serialize→deserialize
 * is a round trip that preserves `result`. Time is always passed in (epoch milliseconds), never
 * read from the clock inside the algorithm.
 */
export interface Accumulator<TResult, TSerialized = unknown> {
  /** Folds `other` into this accumulator. `other` is left unchanged. */
  merge(other: this): void;
  /** A JSON-safe (or binary) representation from which `deserialize` rebuilds an equal accumulator. */
  serialize(): TSerialized;
  /** The current result. Accumulators whose result depends on time take `nowMs` as their argument. */
  result(nowMs?: number): TResult;
}
