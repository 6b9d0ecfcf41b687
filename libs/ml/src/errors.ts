/**
 * Errors of the ML library. Every one is deterministic — the same input fails the same way — so
 * `retriable` is false throughout: retry/dead-letter code must not retry a training job that
 * failed with one of these, it must report it.
 */
export abstract class MlError extends Error {
  readonly retriable = false;
}

/**
 * Bad input to training, prediction or a one-shot call. `field` names the offending field as the
 * caller spells it (`rows[3].cpu`, `params.nClusters`, `featureKeys`); `index` is the row index
 * when the failure is about one row.
 */
export class MlInputError extends MlError {
  constructor(
    message: string,
    readonly field: string,
    readonly index?: number,
  ) {
    super(message);
    this.name = 'MlInputError';
  }
}

/** A serialized model that cannot be decoded: wrong magic, unsupported version, truncated or inconsistent. */
export class ModelFormatError extends MlError {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFormatError';
  }
}
