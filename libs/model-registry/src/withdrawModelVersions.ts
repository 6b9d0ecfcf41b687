import type { EventBus } from '@pipeline/kafka';
import type { ModelRegistryView } from './ModelRegistryView';
import { checkModelName, checkVersion } from './modelKeys';

/**
 * Retention for the model topic: tombstones every key of `name`'s versions below `olderThan` —
 * manifests first (readers withdraw those versions at once), then their chunks, including those
 * of pending or abandoned publishes — so compaction deletes them and no reader keeps their bytes.
 * Without it every version ever trained stays on the compacted topic, and every predictor replica
 * holds and decodes all of them at start. `view` must have caught up (it names the keys).
 * Returns the versions withdrawn, ascending.
 *
 *   await withdrawModelVersions(bus, view, { topic: 'pipeline.ml.models', name: 'latency', olderThan: 8 })
 *   // after publishing version 12 with 5 kept: tombstones model/latency/1 … model/latency/7 and their chunks
 */
export async function withdrawModelVersions(bus: EventBus, view: ModelRegistryView, opts: { topic: string; name: string; olderThan: number }): Promise<number[]> {
  checkModelName(opts.name);
  checkVersion(opts.olderThan);
  const keys = view.keysOf(opts.name).filter((k) => k.version < opts.olderThan);
  const tombstones = (kind: 'manifest' | 'chunk') => keys.filter((k) => k.kind === kind).map((k) => ({ topic: opts.topic, key: k.key, value: '' }));
  const manifests = tombstones('manifest');
  if (manifests.length > 0) await bus.publishBatch(manifests);
  const chunks = tombstones('chunk');
  if (chunks.length > 0) await bus.publishBatch(chunks);
  return [...new Set(keys.map((k) => k.version))].sort((a, b) => a - b);
}
