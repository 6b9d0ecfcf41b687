import { RegistryError } from './errors';

/**
 * Message keys on the compacted model topic (`pipeline.ml.models`). Compaction keeps the latest
 * value of every distinct key, so each piece of a model version has its own key:
 *
 *   model/<name>/<version>              manifest (JSON: sha256, size, chunk count, metadata)
 *   model/<name>/<version>/chunk/<i>    raw bytes i·chunkBytes … of the encoded model, i = 0…chunks−1
 *
 * e.g. `model/latency/3` and `model/latency/3/chunk/0`. Names are restricted (see MODEL_NAME) so a
 * name can never contain the `/` separator.
 */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export type ParsedKey = { kind: 'manifest'; name: string; version: number } | { kind: 'chunk'; name: string; version: number; index: number };

export function checkModelName(name: string): void {
  if (typeof name !== 'string' || !MODEL_NAME.test(name)) {
    throw new RegistryError(`model name must match ${MODEL_NAME.source} (letters, digits, ".", "_", "-"; at most 128), got ${JSON.stringify(name)}`);
  }
}

export function checkVersion(version: number): void {
  if (!Number.isInteger(version) || version < 1 || version > 0xffffffff) {
    throw new RegistryError(`model version must be an integer in [1, 4294967295], got ${version}`);
  }
}

export function manifestKey(name: string, version: number): string {
  return `model/${name}/${version}`;
}

export function chunkKey(name: string, version: number, index: number): string {
  return `model/${name}/${version}/chunk/${index}`;
}

const KEY = /^model\/([A-Za-z0-9][A-Za-z0-9._-]{0,127})\/([1-9][0-9]{0,9})(?:\/chunk\/(0|[1-9][0-9]{0,8}))?$/;

/** Parses a key written by this lib; any other key (foreign writers) gives undefined and is ignored. */
export function parseModelKey(key: string): ParsedKey | undefined {
  const m = KEY.exec(key);
  if (!m) return undefined;
  const name = m[1]!;
  const version = Number(m[2]);
  if (version > 0xffffffff) return undefined;
  return m[3] === undefined ? { kind: 'manifest', name, version } : { kind: 'chunk', name, version, index: Number(m[3]) };
}
