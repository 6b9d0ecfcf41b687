import { PipelineError } from '@pipeline/contracts';

/**
 * Failures the gRPC layer reports (bad input is the shared InvalidArgumentError). Each has a code
 * that toGrpcError maps to a gRPC status, and says whether retrying the same request can succeed.
 */

/** The model or model version is not loaded. Not retriable (unless a new version gets deployed). */
export class ModelNotFoundError extends PipelineError {
  constructor(modelName: string, version?: number) {
    super('not_found', version === undefined ? `model "${modelName}" not found` : `model "${modelName}" version ${version} not found`);
  }
}

/** Models are not loaded yet (start-up). Retriable. */
export class NotReadyError extends PipelineError {
  constructor() {
    super('not_ready', 'models are not loaded yet', { retriable: true });
  }
}

/** The caller's deadline passed before the work started. Retriable with a longer deadline. */
export class DeadlineExceededError extends PipelineError {
  constructor() {
    super('deadline_exceeded', 'deadline exceeded before prediction started', { retriable: true });
  }
}

/** The caller cancelled (or disconnected) before the work started. Nothing is sent back. */
export class CancelledError extends PipelineError {
  constructor() {
    super('cancelled', 'request cancelled');
  }
}

/** A health check named a service this server does not run (grpc.health.v1 wants NOT_FOUND). */
export class UnknownServiceError extends PipelineError {
  constructor(service: string) {
    super('not_found', `service "${service}" is not known to this server`);
  }
}

/**
 * A model broke its contract (wrong output length). Its code is not in toGrpcError's table: the
 * client gets INTERNAL "internal error" and this message goes to the log.
 */
export class InternalPredictError extends PipelineError {
  constructor(message: string) {
    super('model_contract_broken', message);
  }
}
