import type { KeyObject } from 'node:crypto';
import type { EventBus } from '@pipeline/kafka';
import type { ModelRegistryView } from './ModelRegistryView';
import { withdrawalValue } from './ModelWithdrawal';
import { checkModelName, checkVersion, manifestKey } from './modelKeys';
import { SIGNATURE_HEADER, signWithdrawal } from './modelSignature';

export interface WithdrawModelVersionsOptions {
  topic: string;
  name: string;
  /** Versions below this one are withdrawn. */
  olderThan: number;
  /**
   * The trainer's Ed25519 private key. With it, each manifest key removed first gets a signed
   * withdrawal record (ModelWithdrawal.ts), which is what predictors that check signatures act on;
   * without it only tombstones are written, which those predictors ignore for signed versions.
   */
  signingKey?: KeyObject;
}

/**
 * Retention for the model topic: withdraws `name`'s versions below `olderThan` —
 * 1. with `signingKey`, a signed withdrawal record on the manifest key of each version that has any
 *    key left (predictors that check signatures withdraw those versions at once). Every such
 *    version, not only those whose manifest `view` still holds: a view that does not check
 *    signatures (the trainer's) has applied whatever bare tombstone someone wrote on a manifest
 *    key, while the verifying predictors ignored it and still serve the version;
 * 2. tombstones of those manifest keys (readers that do not check signatures withdraw on these,
 *    and compaction then deletes the withdrawal records);
 * 3. tombstones of their chunks, including those of pending or abandoned publishes —
 * so compaction deletes every key and no reader keeps their bytes. Each step is acknowledged
 * before the next, so on every key the withdrawal precedes its tombstone. Without retention every
 * version ever trained stays on the compacted topic, and every predictor replica holds and decodes
 * all of them at start. `view` must have caught up (it names the keys). Returns the versions
 * withdrawn, ascending.
 *
 *   await withdrawModelVersions(bus, view, { topic: 'pipeline.ml.models', name: 'latency', olderThan: 8, signingKey })
 *   // after publishing version 12 with 5 kept: signed withdrawals, then tombstones, of model/latency/1 … model/latency/7, then their chunks' tombstones
 */
export async function withdrawModelVersions(bus: EventBus, view: ModelRegistryView, opts: WithdrawModelVersionsOptions): Promise<number[]> {
  checkModelName(opts.name);
  checkVersion(opts.olderThan);
  const keys = view.keysOf(opts.name).filter((k) => k.version < opts.olderThan);
  const versions = [...new Set(keys.map((k) => k.version))].sort((a, b) => a - b);
  const signingKey = opts.signingKey;
  const tombstone = (key: string) => ({ topic: opts.topic, key, value: '' });
  let manifests = keys.filter((k) => k.kind === 'manifest').map((k) => tombstone(k.key));
  if (signingKey && versions.length > 0) {
    await bus.publishBatch(
      versions.map((version) => {
        const value = withdrawalValue(opts.name, version);
        return { topic: opts.topic, key: manifestKey(opts.name, version), value, headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signWithdrawal(value, signingKey) } };
      }),
    );
    manifests = versions.map((version) => tombstone(manifestKey(opts.name, version)));
  }
  if (manifests.length > 0) await bus.publishBatch(manifests);
  const chunks = keys.filter((k) => k.kind === 'chunk').map((k) => tombstone(k.key));
  if (chunks.length > 0) await bus.publishBatch(chunks);
  return versions;
}
