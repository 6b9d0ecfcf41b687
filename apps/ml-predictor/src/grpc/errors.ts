import { status } from '@grpc/grpc-js';

/**
 * Failures the gRPC layer knows how to report. Each carries its gRPC code and whether retrying the
 * same request can succeed; `toGrpcError` is the one place that turns any thrown value into a status.
 */
export abstract class PredictorError extends Error {
  abstract readonly code: status;
  abstract readonly retriable: boolean;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The model or model version is not loaded. Not retriable (unless a new version gets deployed). */
export class ModelNotFoundError extends PredictorError {
  readonly code = status.NOT_FOUND;
  readonly retriable = false;
  constructor(modelName: string, version?: number) {
    super(version === undefined ? `model "${modelName}" not found` : `model "${modelName}" version ${version} not found`);
  }
}

/** The request is malformed; the message names the field and what was expected. Not retriable. */
export class InvalidArgumentError extends PredictorError {
  readonly code = status.INVALID_ARGUMENT;
  readonly retriable = false;
}

/** Models are not loaded yet (start-up). Retriable. */
export class NotReadyError extends PredictorError {
  readonly code = status.UNAVAILABLE;
  readonly retriable = true;
  constructor() {
    super('models are not loaded yet');
  }
}

/** The caller's deadline passed before the work started. Retriable with a longer deadline. */
export class DeadlineExceededError extends PredictorError {
  readonly code = status.DEADLINE_EXCEEDED;
  readonly retriable = true;
  constructor() {
    super('deadline exceeded before prediction started');
  }
}

/** The caller cancelled (or disconnected) before the work started. Nothing is sent back. */
export class CancelledError extends PredictorError {
  readonly code = status.CANCELLED;
  readonly retriable = false;
  constructor() {
    super('request cancelled');
  }
}

/** A health check named a service this server does not run (grpc.health.v1 wants NOT_FOUND). */
export class UnknownServiceError extends PredictorError {
  readonly code = status.NOT_FOUND;
  readonly retriable = false;
  constructor(service: string) {
    super(`service "${service}" is not known to this server`);
  }
}
