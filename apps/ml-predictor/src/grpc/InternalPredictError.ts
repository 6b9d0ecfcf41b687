/**
 * A model broke its contract (wrong output length). Deliberately not a PredictorError: the client
 * gets INTERNAL "internal error" and this message goes to the log.
 */
export class InternalPredictError extends Error {
  override readonly name = 'InternalPredictError';
}
