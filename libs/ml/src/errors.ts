import { InvalidArgumentError, PipelineError } from '@pipeline/contracts';

/**
 * Errors of the ML library. Every one is deterministic — the same input fails the same way — so
 * none is retriable: retry/dead-letter code must not retry a training job that failed with one of
 * these, it must report it.
 */

/**
 * Bad input to training, prediction or a one-shot call. `field` names the offending field as the
 * caller spells it (`rows[3].cpu`, `params.nClusters`, `featureKeys`); `index` is the row index
 * when the failure is about one row.
 */
export class MlInputError extends InvalidArgumentError {
  declare readonly field: string;
  constructor(
    message: string,
    field: string,
    readonly index?: number,
  ) {
    super(message, field);
  }
}

/** A serialized model that cannot be decoded: wrong magic, unsupported version, truncated or inconsistent. */
export class ModelFormatError extends PipelineError {
  constructor(message: string) {
    super('model_format', message);
  }
}
