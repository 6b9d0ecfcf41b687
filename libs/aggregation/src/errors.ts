/**
 * Errors thrown by `@pipeline/aggregation`. Every error says whether retrying the same call can
 * succeed (`retriable`); retry and dead-letter code reads only that flag. All failures in this lib
 * are caused by the caller's input or state, so none of them is retriable: the same bad value, the
 * same mismatched sketch or the same corrupt snapshot fails again.
 */
export abstract class AggregationError extends Error {
  abstract readonly retriable: boolean;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** An argument is out of its documented domain, e.g. `value must be a finite number, got NaN`. */
export class InvalidArgumentError extends AggregationError {
  readonly retriable = false;
}

/** Two accumulators cannot be merged exactly (e.g. DDSketches with different relative accuracy). */
export class IncompatibleMergeError extends AggregationError {
  readonly retriable = false;
}

/** A serialized snapshot is truncated, has an unknown version or is otherwise unreadable. */
export class DeserializationError extends AggregationError {
  readonly retriable = false;
}
