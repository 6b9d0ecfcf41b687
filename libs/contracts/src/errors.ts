/**
 * The one base of every error the pipeline raises, as kafkajs' KafkaJSError is for kafkajs.
 * - `code`: a stable machine name (snake_case). The edges map it once: httpErrors.ts to an HTTP
 *   status, the predictor's toGrpcError.ts to a gRPC status; clients see it as `error.code`.
 * - `retriable`: whether the same call may succeed later. Retry and dead-letter code reads only it.
 * - `details`: data for the client beside the message (e.g. how many events were accepted).
 * The message is written for the client: it names the field and what was expected; internal
 * detail goes in `cause`, which is logged, never sent.
 */
export class PipelineError extends Error {
  readonly retriable: boolean;
  readonly details?: unknown;

  constructor(
    readonly code: string,
    message: string,
    options: { retriable?: boolean; details?: unknown; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
    if (options.details !== undefined) this.details = options.details;
  }
}

/**
 * Bad input: the same input fails the same way, so never retriable (HTTP 400, gRPC INVALID_ARGUMENT).
 * `field` is the path of the offending value as the caller spells it, when there is one.
 */
export class InvalidArgumentError extends PipelineError {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super('invalid_argument', message);
  }
}

/** An event or request that breaks its contract; `field` is the dotted path (`payload.value`), empty for the whole event. */
export class ContractError extends InvalidArgumentError {
  declare readonly field: string;
  constructor(message: string, field: string) {
    super(message, field);
  }
}

/** A message or line that is not JSON at all (dead-lettered with reason `invalid_json`, not `schema`). */
export class InvalidJsonError extends ContractError {
  constructor(message: string) {
    super(message, '');
  }
}
