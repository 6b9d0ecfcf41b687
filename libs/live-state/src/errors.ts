/**
 * Errors of `@pipeline/live-state`, with the one flag retry code reads (`retriable`).
 */
export abstract class LiveStateError extends Error {
  abstract readonly retriable: boolean;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A message of the state topic is not in the format (truncated, unknown version): reading it again fails again. */
export class LiveStateFormatError extends LiveStateError {
  readonly retriable = false;
}

/**
 * A partition's committed state could not be read back from the topic (e.g. the broker did not
 * deliver it in time). Retriable: the batch that needed it fails and is redelivered, and the
 * partition never starts empty over a state that exists.
 */
export class StateUnavailableError extends LiveStateError {
  readonly retriable = true;
}
