import { InvalidArgumentError } from '@pipeline/contracts';
import { ModelNotFoundError, NotReadyError } from './errors';
import type { ModelCatalog, ServableModel } from './ModelCatalog';

/**
 * Finds the model a request names. `version` undefined means latest. `nameField` is the request
 * field the name came from ("model_name", "name"), used in the error message.
 * Throws UNAVAILABLE before models are loaded, INVALID_ARGUMENT for an empty name, NOT_FOUND otherwise.
 */
export function resolveModel(catalog: ModelCatalog, name: string, version: number | undefined, nameField: string): ServableModel {
  if (!catalog.isReady()) throw new NotReadyError();
  if (name === '') throw new InvalidArgumentError(`${nameField} must be non-empty`);
  const model = catalog.get(name, version);
  if (!model) throw new ModelNotFoundError(name, version);
  return model;
}

/**
 * Parses a KServe version string: "" → undefined (latest); "3" → 3. Anything else is INVALID_ARGUMENT
 * naming `field`, e.g. `model_version must be a positive decimal integer or "", got "v2"`.
 */
export function parseVersionString(version: string, field: string): number | undefined {
  if (version === '') return undefined;
  if (!/^[1-9][0-9]{0,8}$/.test(version)) {
    throw new InvalidArgumentError(`${field} must be a positive decimal integer or "", got ${JSON.stringify(version)}`);
  }
  return Number(version);
}
