import { createHash, type KeyObject } from 'node:crypto';
import type { EventBus, OutgoingMessage } from '@pipeline/kafka';
import { RegistryError } from './errors';
import type { ModelManifest } from './ModelManifest';
import { checkModelName, checkVersion, chunkKey, manifestKey } from './modelKeys';
import { SIGNATURE_HEADER, signManifest } from './modelSignature';

/** Default chunk size: 512 KiB, far below the topic's 16 MiB `max.message.bytes` and the consumer's fetch size. */
export const DEFAULT_CHUNK_BYTES = 512 * 1024;
/** Chunks per produce call: keeps one record batch (several chunks may share a partition) under ~4 MiB. */
const CHUNKS_PER_PUBLISH = 8;

export interface PublishModelOptions<M> {
  topic: string;
  name: string;
  version: number;
  /** The encoded model (e.g. `encodeModel(model)`). */
  bytes: Uint8Array;
  metadata: M;
  /** Publish time recorded in the manifest, ISO-8601 (passed in: the registry does not read the clock). */
  publishedAt: string;
  /** Chunk size in bytes; default 512 KiB. */
  chunkBytes?: number;
  /** The trainer's Ed25519 private key: the manifest then carries a `model-signature` header (see modelSignature.ts). Unsigned without it. */
  signingKey?: KeyObject;
}

/**
 * Publishes one model version: every chunk first (acknowledged by Kafka), then the manifest. A
 * reader therefore never sees a manifest whose chunks were not written — but since chunks and
 * manifest land on different partitions, it may *read* the manifest first, so readers wait for
 * all chunks (see ModelRegistryView). Re-publishing the same version overwrites its keys; the
 * manifest's sha256 tells the reader which bytes are meant.
 *
 *   await publishModel(bus, { topic: 'pipeline.ml.models', name: 'latency', version: 3,
 *     bytes: encodeModel(model), metadata: { type: 'random_forest' }, publishedAt: new Date().toISOString() });
 *   // → 2 chunk messages (model/latency/3/chunk/0, …/1) for a 0.6 MB forest, then model/latency/3
 */
export async function publishModel<M>(bus: EventBus, opts: PublishModelOptions<M>): Promise<ModelManifest<M>> {
  checkModelName(opts.name);
  checkVersion(opts.version);
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) throw new RegistryError(`chunkBytes must be a positive integer, got ${chunkBytes}`);
  const bytes = Buffer.from(opts.bytes.buffer, opts.bytes.byteOffset, opts.bytes.byteLength);
  // An empty value is a tombstone on a compacted topic, so an empty chunk could never be stored.
  if (bytes.length === 0) throw new RegistryError('model bytes must not be empty');
  const chunks = Math.max(1, Math.ceil(bytes.length / chunkBytes));
  const manifest: ModelManifest<M> = {
    name: opts.name,
    version: opts.version,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
    chunks,
    chunkBytes,
    publishedAt: opts.publishedAt,
    metadata: opts.metadata,
  };
  let manifestJson: string;
  try {
    manifestJson = JSON.stringify(manifest);
  } catch (e) {
    throw new RegistryError(`model metadata must be JSON-serializable: ${(e as Error).message}`);
  }
  for (let first = 0; first < chunks; first += CHUNKS_PER_PUBLISH) {
    const batch: OutgoingMessage[] = [];
    for (let i = first; i < Math.min(chunks, first + CHUNKS_PER_PUBLISH); i++) {
      batch.push({ topic: opts.topic, key: chunkKey(opts.name, opts.version, i), value: bytes.subarray(i * chunkBytes, (i + 1) * chunkBytes) });
    }
    await bus.publishBatch(batch);
  }
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.signingKey) headers[SIGNATURE_HEADER] = signManifest(manifestJson, opts.signingKey);
  await bus.publish({ topic: opts.topic, key: manifestKey(opts.name, opts.version), value: manifestJson, headers });
  return manifest;
}
