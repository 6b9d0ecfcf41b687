import { PipelineError } from '@pipeline/contracts';

/**
 * Errors thrown by `@pipeline/aggregation`. All failures in this lib are caused by the caller's
 * input or state, so none of them is retriable: the same bad value, the same mismatched sketch or
 * the same corrupt snapshot fails again. A value out of its documented domain
 * (`value must be a finite number, got NaN`) is the shared InvalidArgumentError.
 */
export { InvalidArgumentError } from '@pipeline/contracts';

/** Two accumulators cannot be merged exactly (e.g. DDSketches with different relative accuracy). */
export class IncompatibleMergeError extends PipelineError {
  constructor(message: string) {
    super('incompatible_merge', message);
  }
}

/** A serialized snapshot is truncated, has an unknown version or is otherwise unreadable. */
export class DeserializationError extends PipelineError {
  constructor(message: string) {
    super('deserialization_failed', message);
  }
}
