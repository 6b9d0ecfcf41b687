/**
 * A withdrawal record: written by `withdrawModelVersions` (with the trainer's key) under the
 * manifest key of a version it removes, just before that key's tombstone. A tombstone (an empty
 * value) cannot carry a signature, so this record is what proves the trainer withdrew the version:
 * a predictor that checks signatures stops serving a version on a signed withdrawal and ignores a
 * bare tombstone of a signed manifest. Compaction later keeps only the tombstone, then deletes it.
 *
 *   model/latency/3  →  {"withdrawn":true,"name":"latency","version":3}   model-signature: ed25519:…
 */
export interface ModelWithdrawal {
  withdrawn: true;
  name: string;
  version: number;
}

/** The exact value bytes written (and signed) for withdrawing `name` version `version`. */
export function withdrawalValue(name: string, version: number): string {
  const record: ModelWithdrawal = { withdrawn: true, name, version };
  return JSON.stringify(record);
}

/** Whether `value` (parsed JSON of a record on `name`/`version`'s manifest key) withdraws exactly that version. */
export function isWithdrawalOf(value: unknown, name: string, version: number): value is ModelWithdrawal {
  if (value === null || typeof value !== 'object') return false;
  const r = value as Partial<ModelWithdrawal>;
  return r.withdrawn === true && r.name === name && r.version === version;
}
