import { PipelineError } from '@pipeline/contracts';

/** A message of the state topic is not in the format (truncated, unknown version): reading it again fails again. */
export class LiveStateFormatError extends PipelineError {
  constructor(message: string) {
    super('live_state_format', message);
  }
}

/**
 * A partition's committed state could not be read back from the topic (e.g. the broker did not
 * deliver it in time). Retriable: the batch that needed it fails and is redelivered, and the
 * partition never starts empty over a state that exists.
 */
export class StateUnavailableError extends PipelineError {
  constructor(message: string) {
    super('state_unavailable', message, { retriable: true });
  }
}
