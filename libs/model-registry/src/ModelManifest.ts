/**
 * The manifest of one model version, stored as JSON under `model/<name>/<version>`. It is written
 * after every chunk, and it is what makes a version visible: a reader assembles the version only
 * once all `chunks` chunks are present and their concatenation has `size` bytes and `sha256`.
 */
export interface ModelManifest<M = Record<string, unknown>> {
  name: string;
  version: number;
  /** Hex SHA-256 of the whole encoded model. */
  sha256: string;
  /** Encoded model size in bytes. */
  size: number;
  /** Number of chunks, ≥ 1 (models are never empty). */
  chunks: number;
  /** Chunk size used when publishing, in bytes (the last chunk may be shorter). */
  chunkBytes: number;
  /** Publish time, ISO-8601. */
  publishedAt: string;
  /** Free-form JSON description (type, feature keys, metrics, provenance), readable without decoding the model. */
  metadata: M;
}

/** A complete, verified model version. */
export interface RegisteredModel<M = Record<string, unknown>> {
  manifest: ModelManifest<M>;
  /**
   * The encoded model (concatenated chunks), verified against the manifest's size and sha256. A
   * plain Uint8Array owning its ArrayBuffer (byteOffset 0), never a view into a pooled Buffer.
   */
  bytes: Uint8Array;
}
