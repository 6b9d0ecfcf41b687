import { InvalidArgumentError } from '@pipeline/contracts';

/**
 * A bad model name, version, bytes or key: the same call never succeeds, so not retriable. A
 * publish that Kafka did not acknowledge fails with the bus's own BusError, rethrown unchanged.
 */
export class RegistryError extends InvalidArgumentError {}
