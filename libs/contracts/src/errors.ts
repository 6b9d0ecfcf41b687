/**
 * Contract violations. `retriable` is false for all of them: the same input fails the same way,
 * so retry/dead-letter code routes them to the dead-letter topic instead of retrying.
 */
export class ContractError extends Error {
  readonly retriable = false;
  constructor(
    message: string,
    /** Dotted path of the offending field, e.g. `payload.value`; empty for the whole event. */
    readonly field: string,
  ) {
    super(message);
    this.name = 'ContractError';
  }
}
