/**
 * Errors of the model registry. `retriable` says whether the same call can succeed later:
 * a bad name or version never will; a publish that Kafka did not acknowledge may (the bus's own
 * `BusError` carries that flag and is rethrown unchanged).
 */
export class RegistryError extends Error {
  constructor(
    message: string,
    readonly retriable = false,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}
