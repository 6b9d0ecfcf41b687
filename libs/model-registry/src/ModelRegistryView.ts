import { createHash, type KeyObject } from 'node:crypto';
import { CompactedTopicView, type EventBus, type IncomingMessage } from '@pipeline/kafka';
import type { ModelManifest, RegisteredModel } from './ModelManifest';
import { chunkKey, manifestKey, parseModelKey, type ParsedKey } from './modelKeys';
import { isWithdrawalOf } from './ModelWithdrawal';
import { SIGNATURE_HEADER, checkManifestSignature, checkWithdrawalSignature, type SignatureRejection } from './modelSignature';

export interface ModelRegistryViewOptions {
  /** The compacted model topic, e.g. `pipeline.ml.models`. */
  topic: string;
  /** Consumer-group prefix of the view (each instance reads with its own group from the beginning). */
  groupPrefix: string;
  /** Called when a version's chunks are all present but do not match its manifest (size or sha256). */
  onInvalid?(name: string, version: number, reason: string): void;
  /**
   * How long chunks that belong to no complete version are held (ms, from when this view read
   * them); then their bytes are dropped. A publish writes its chunks and manifest within seconds,
   * so older pending chunks are leftovers of a crashed publish or records someone else wrote —
   * without a limit they held memory for good. Default 600,000 (10 min).
   */
  pendingChunkTtlMs?: number;
  /** Called when the bytes of a version's pending chunks were dropped by `pendingChunkTtlMs`. */
  onChunksDropped?(name: string, version: number, chunks: number, bytes: number): void;
  /** Clock in ms (default Date.now); injectable for tests. */
  now?(): number;
  /**
   * Trusted trainer public keys by key id (`parseVerifyKeys`). When given, a record on a manifest
   * key — a manifest, or a withdrawal (ModelWithdrawal.ts) — is applied only if its
   * `model-signature` header verifies under one of them; any other record is ignored — the key
   * keeps its previous value, so a served version stays served — and reported to `onRejected`.
   * A tombstone cannot be signed, so one on the key of a signed manifest is ignored too (reason
   * `unsigned_withdrawal`): only a signed withdrawal withdraws a version. That holds for pending
   * versions as well as complete ones, because a reader replaying the topic may read a manifest
   * and its tombstone before the chunks (another partition) of a version other replicas serve.
   * Without `verifyKeys` every well-formed record is applied and every tombstone withdraws.
   */
  verifyKeys?: ReadonlyMap<string, KeyObject>;
  /**
   * A record on a manifest key refused by `verifyKeys`; `signer` is the key id its header claims,
   * if any (never for `unsigned_withdrawal`). Called once per refused record.
   */
  onRejected?(name: string, version: number, reason: SignatureRejection, signer: string | undefined): void;
}

/**
 * A decoded message of the model topic: a manifest, a withdrawal (on a manifest key) or a chunk's
 * bytes. A chunk is `pinned` once it is a view of a complete version's bytes, and `dropped` once
 * its bytes were let go by the TTL (the key stays, so `keysOf` still names it for withdrawal).
 */
type Entry = { kind: 'manifest'; manifest: ModelManifest } | { kind: 'withdrawn' } | { kind: 'chunk'; bytes: Buffer; receivedAt: number; pinned: boolean; dropped: boolean };

const DEFAULT_PENDING_CHUNK_TTL_MS = 10 * 60_000;
const EMPTY = Buffer.alloc(0);

export type ModelAddedListener = (model: RegisteredModel) => void;
/** A complete version was withdrawn (by `withdrawModelVersions`: a signed withdrawal, or a tombstone where signatures are not checked). */
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
 * assembled bytes), plus the chunks of pending ones for at most `pendingChunkTtlMs` after they
 * were read (then their bytes are dropped, and the version can only complete if they are sent again).
 */
export class ModelRegistryView {
  private readonly view: CompactedTopicView<Entry>;
  private readonly complete = new Map<string, Map<number, RegisteredModel>>();
  /** Highest version seen per name in any key (manifest or chunk), complete or not. */
  private readonly maxSeen = new Map<string, number>();
  private readonly listeners = new Set<ModelAddedListener>();
  private readonly removedListeners = new Set<ModelRemovedListener>();
  private readonly now: () => number;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    bus: EventBus,
    private readonly opts: ModelRegistryViewOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.view = new CompactedTopicView<Entry>(bus, {
      topic: opts.topic,
      groupPrefix: opts.groupPrefix,
      decode: (m) => this.decodeEntry(m),
      acceptTombstone: (key, current) => this.acceptTombstone(key, current),
      onUpdate: (key, value) => this.onUpdate(key, value),
    });
  }

  async start(): Promise<void> {
    await this.view.start();
    const ttl = this.opts.pendingChunkTtlMs ?? DEFAULT_PENDING_CHUNK_TTL_MS;
    this.sweeper = setInterval(() => this.dropExpiredChunks(), Math.max(1_000, Math.min(60_000, ttl / 4)));
    this.sweeper.unref();
  }

  stop(): Promise<void> {
    clearInterval(this.sweeper);
    return this.view.stop();
  }

  /**
   * Drops the bytes of every chunk that belongs to no complete version and was read more than
   * `pendingChunkTtlMs` ago. Runs by itself every quarter TTL (1 s–1 min); public for tests.
   */
  dropExpiredChunks(): void {
    const cutoff = this.now() - (this.opts.pendingChunkTtlMs ?? DEFAULT_PENDING_CHUNK_TTL_MS);
    const dropped = new Map<string, { name: string; version: number; chunks: number; bytes: number }>();
    for (const [key, e] of this.view.entries()) {
      if (e.kind !== 'chunk' || e.pinned || e.dropped || e.receivedAt > cutoff) continue;
      const parsed = parseModelKey(key)!;
      const id = manifestKey(parsed.name, parsed.version);
      const d = dropped.get(id) ?? { name: parsed.name, version: parsed.version, chunks: 0, bytes: 0 };
      d.chunks++;
      d.bytes += e.bytes.length;
      dropped.set(id, d);
      e.bytes = EMPTY;
      e.dropped = true;
    }
    for (const d of dropped.values()) this.opts.onChunksDropped?.(d.name, d.version, d.chunks, d.bytes);
  }

  /** Bytes held by chunks of versions that are not complete (what `pendingChunkTtlMs` bounds). */
  pendingChunkBytes(): number {
    let total = 0;
    for (const [, e] of this.view.entries()) if (e.kind === 'chunk' && !e.pinned) total += e.bytes.length;
    return total;
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
    if (parsed.kind === 'manifest' && (value === undefined || value.kind === 'withdrawn')) {
      // Withdrawn (or tombstoned where that is accepted): stop serving the version, and let the TTL
      // drop its chunks' bytes should their tombstones never come.
      const model = this.complete.get(name)?.get(version);
      if (!model) return;
      this.complete.get(name)!.delete(version);
      for (let i = 0; i < model.manifest.chunks; i++) {
        const c = this.view.get(chunkKey(name, version, i));
        if (c?.kind === 'chunk') c.pinned = false;
      }
      for (const l of this.removedListeners) l(name, version);
      return;
    }
    this.tryAssemble(name, version);
  }

  /** See `verifyKeys`: with signatures checked, a tombstone does not remove a signed manifest. */
  private acceptTombstone(key: string, current: Entry | undefined): boolean {
    if (!this.opts.verifyKeys || current?.kind !== 'manifest') return true;
    this.opts.onRejected?.(current.manifest.name, current.manifest.version, 'unsigned_withdrawal', undefined);
    return false;
  }

  private tryAssemble(name: string, version: number): void {
    const entry = this.view.get(manifestKey(name, version));
    if (entry?.kind !== 'manifest') return;
    const manifest = entry.manifest;
    const existing = this.complete.get(name)?.get(version);
    if (existing && existing.manifest.sha256 === manifest.sha256 && existing.manifest.publishedAt === manifest.publishedAt) {
      return; // e.g. a chunk re-read; the verified copy stands (if the chunk differs, the next manifest decides)
    }
    const chunks: Array<Extract<Entry, { kind: 'chunk' }>> = [];
    let total = 0;
    for (let i = 0; i < manifest.chunks; i++) {
      const c = this.view.get(chunkKey(name, version, i));
      if (c?.kind !== 'chunk' || c.dropped) return; // not all chunks yet (or dropped by the TTL: they must be sent again)
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
      c.pinned = true;
      at += length;
    }
    const model: RegisteredModel = { manifest, bytes };
    let versions = this.complete.get(name);
    if (!versions) this.complete.set(name, (versions = new Map()));
    versions.set(version, model);
    for (const l of this.listeners) l(model);
  }

  private decodeEntry(m: IncomingMessage): Entry | undefined {
    const parsed = m.key === null ? undefined : parseModelKey(m.key);
    if (!parsed) return undefined;
    // copy: don't pin the fetch buffer
    if (parsed.kind === 'chunk') return { kind: 'chunk', bytes: Buffer.from(m.value), receivedAt: this.now(), pinned: false, dropped: false };
    if (!this.opts.verifyKeys) return decodeManifestKey(m, parsed, 'either');
    const header = m.headers[SIGNATURE_HEADER];
    const rejection = checkManifestSignature(m.value, header, this.opts.verifyKeys);
    if (rejection === undefined) return decodeManifestKey(m, parsed, 'manifest');
    // Another domain prefix: a manifest's signature never passes as a withdrawal's, nor the reverse.
    if (rejection === 'bad_signature' && checkWithdrawalSignature(m.value, header, this.opts.verifyKeys) === undefined) return decodeManifestKey(m, parsed, 'withdrawal');
    this.opts.onRejected?.(parsed.name, parsed.version, rejection, /^ed25519:([0-9a-f]{16}):/.exec(header ?? '')?.[1]);
    return undefined;
  }
}

/** A record on a manifest key as the entry it is (`expected`: what its signature vouches for), or undefined if malformed. */
function decodeManifestKey(m: IncomingMessage, parsed: ParsedKey, expected: 'manifest' | 'withdrawal' | 'either'): Entry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(m.value.toString('utf8'));
  } catch {
    return undefined;
  }
  if (expected !== 'manifest' && isWithdrawalOf(value, parsed.name, parsed.version)) return { kind: 'withdrawn' };
  if (expected === 'withdrawal') return undefined;
  const manifest = value as ModelManifest;
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
