import { createHash } from 'node:crypto';
import { CompactedTopicView, type EventBus, type IncomingMessage } from '@pipeline/kafka';
import type { ModelManifest, RegisteredModel } from './ModelManifest';
import { chunkKey, manifestKey, parseModelKey, type ParsedKey } from './modelKeys';

export interface ModelRegistryViewOptions {
  /** The compacted model topic, e.g. `pipeline.ml.models`. */
  topic: string;
  /** Consumer-group prefix of the view (each instance reads with its own group from the beginning). */
  groupPrefix: string;
  /** Called when a version's chunks are all present but do not match its manifest (size or sha256). */
  onInvalid?(name: string, version: number, reason: string): void;
}

/** A decoded message of the model topic: a manifest or a chunk's bytes. */
type Entry = { kind: 'manifest'; manifest: ModelManifest } | { kind: 'chunk'; bytes: Buffer };

export type ModelAddedListener = (model: RegisteredModel) => void;
/** A complete version was withdrawn (its manifest tombstoned, e.g. by `withdrawModelVersions`). */
export type ModelRemovedListener = (name: string, version: number) => void;

/**
 * Every complete model version on the registry topic, reassembled from its chunks and verified —
 * the read side of `publishModel`. Every replica runs its own view, so every replica sees every
 * version, and a restarted process rebuilds the whole registry from the compacted topic.
 *
 * Rules: a version becomes visible when its manifest and all `manifest.chunks` chunks are present
 * (in any order — they live on different partitions) and the concatenation has the manifest's size
 * and sha256; until then it is pending. A mismatch (e.g. chunks of an interrupted re-publish) is
 * reported to `onInvalid` and the version stays pending (or keeps its earlier verified bytes) until
 * matching pieces arrive. `onAdded` listeners run synchronously whenever a version becomes visible
 * or is replaced by different verified bytes.
 *
 * Memory: one copy of every complete version on the topic (its chunk entries are views of the
 * assembled bytes), plus the chunks of pending ones.
 */
export class ModelRegistryView {
  private readonly view: CompactedTopicView<Entry>;
  private readonly complete = new Map<string, Map<number, RegisteredModel>>();
  /** Highest version seen per name in any key (manifest or chunk), complete or not. */
  private readonly maxSeen = new Map<string, number>();
  private readonly listeners = new Set<ModelAddedListener>();
  private readonly removedListeners = new Set<ModelRemovedListener>();

  constructor(
    bus: EventBus,
    private readonly opts: ModelRegistryViewOptions,
  ) {
    this.view = new CompactedTopicView<Entry>(bus, {
      topic: opts.topic,
      groupPrefix: opts.groupPrefix,
      decode: (m) => decodeEntry(m),
      onUpdate: (key, value) => this.onUpdate(key, value),
    });
  }

  start(): Promise<void> {
    return this.view.start();
  }

  stop(): Promise<void> {
    return this.view.stop();
  }

  /** Resolves once everything published before this call has been applied (see CompactedTopicView.catchUp). */
  catchUp(timeoutMs?: number): Promise<void> {
    return this.view.catchUp(timeoutMs);
  }

  /** Registers a listener for versions becoming visible; returns a function that removes it. */
  onAdded(listener: ModelAddedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Registers a listener for complete versions being withdrawn; returns a function that removes it. */
  onRemoved(listener: ModelRemovedListener): () => void {
    this.removedListeners.add(listener);
    return () => this.removedListeners.delete(listener);
  }

  /**
   * Every key of `name` the topic holds (as read so far): manifests and chunks of complete,
   * pending and abandoned versions alike — what `withdrawModelVersions` tombstones.
   */
  keysOf(name: string): Array<{ key: string } & ParsedKey> {
    const out: Array<{ key: string } & ParsedKey> = [];
    for (const [key] of this.view.entries()) {
      const parsed = parseModelKey(key);
      if (parsed?.name === name) out.push({ key, ...parsed });
    }
    return out;
  }

  /** The given version of `name`, or its highest complete version when `version` is undefined. */
  get(name: string, version?: number): RegisteredModel | undefined {
    const versions = this.complete.get(name);
    if (!versions) return undefined;
    if (version !== undefined) return versions.get(version);
    let best: RegisteredModel | undefined;
    for (const m of versions.values()) if (!best || m.manifest.version > best.manifest.version) best = m;
    return best;
  }

  /** Every complete version, sorted by name then version. */
  list(): RegisteredModel[] {
    return [...this.complete.values()]
      .flatMap((v) => [...v.values()])
      .sort((a, b) => (a.manifest.name < b.manifest.name ? -1 : a.manifest.name > b.manifest.name ? 1 : a.manifest.version - b.manifest.version));
  }

  /**
   * The version a new training run of `name` should get: 1 + the highest version seen in any key
   * (a complete version, a pending manifest, or chunks of an unfinished publish). Call `catchUp()`
   * first; two writers of the same name must be serialized by the caller.
   */
  nextVersion(name: string): number {
    return (this.maxSeen.get(name) ?? 0) + 1;
  }

  private onUpdate(key: string, value: Entry | undefined): void {
    const parsed = parseModelKey(key);
    if (!parsed) return;
    const { name, version } = parsed;
    if (value !== undefined && version > (this.maxSeen.get(name) ?? 0)) this.maxSeen.set(name, version);
    if (parsed.kind === 'manifest' && value === undefined) {
      // Tombstoned manifest: the version is withdrawn.
      if (this.complete.get(name)?.delete(version)) for (const l of this.removedListeners) l(name, version);
      return;
    }
    this.tryAssemble(name, version);
  }

  private tryAssemble(name: string, version: number): void {
    const entry = this.view.get(manifestKey(name, version));
    if (entry?.kind !== 'manifest') return;
    const manifest = entry.manifest;
    const existing = this.complete.get(name)?.get(version);
    if (existing && existing.manifest.sha256 === manifest.sha256 && existing.manifest.publishedAt === manifest.publishedAt) {
      return; // e.g. a chunk re-read; the verified copy stands (if the chunk differs, the next manifest decides)
    }
    const chunks: Array<{ kind: 'chunk'; bytes: Buffer }> = [];
    let total = 0;
    for (let i = 0; i < manifest.chunks; i++) {
      const c = this.view.get(chunkKey(name, version, i));
      if (c?.kind !== 'chunk') return; // not all chunks yet
      chunks.push(c);
      total += c.bytes.length;
    }
    // A plain Uint8Array of its own (not a pooled Buffer slice): `bytes.buffer` is exactly the model.
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c.bytes, at);
      at += c.bytes.length;
    }
    if (bytes.length !== manifest.size) {
      this.opts.onInvalid?.(name, version, `assembled ${bytes.length} bytes from ${manifest.chunks} chunks, manifest says ${manifest.size}`);
      return;
    }
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== manifest.sha256) {
      this.opts.onInvalid?.(name, version, `sha256 of the assembled chunks is ${sha}, manifest says ${manifest.sha256}`);
      return;
    }
    // Keep one copy: the chunk entries become views of the assembled bytes (their own copies are
    // freed), so a replica holds each version once, not twice. A re-sent chunk replaces its entry.
    at = 0;
    for (const c of chunks) {
      const length = c.bytes.length;
      c.bytes = Buffer.from(bytes.buffer, at, length);
      at += length;
    }
    const model: RegisteredModel = { manifest, bytes };
    let versions = this.complete.get(name);
    if (!versions) this.complete.set(name, (versions = new Map()));
    versions.set(version, model);
    for (const l of this.listeners) l(model);
  }
}

function decodeEntry(m: IncomingMessage): Entry | undefined {
  const parsed = m.key === null ? undefined : parseModelKey(m.key);
  if (!parsed) return undefined;
  if (parsed.kind === 'chunk') return { kind: 'chunk', bytes: Buffer.from(m.value) }; // copy: don't pin the fetch buffer
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(m.value.toString('utf8')) as ModelManifest;
  } catch {
    return undefined;
  }
  if (
    manifest === null ||
    typeof manifest !== 'object' ||
    manifest.name !== parsed.name ||
    manifest.version !== parsed.version ||
    typeof manifest.sha256 !== 'string' ||
    !Number.isInteger(manifest.size) ||
    !Number.isInteger(manifest.chunks) ||
    manifest.chunks < 1
  ) {
    return undefined;
  }
  return { kind: 'manifest', manifest };
}
