import type { ModelInfo } from '@pipeline/proto';

/** What the `rows` form of predict needs of a model version: its number and column order. */
export interface FeatureOrder {
  name: string;
  version: number;
  featureKeys: string[];
}

/**
 * Column orders for POST /pipeline/ml/predict with `rows`, so such a call costs one gRPC round trip
 * to the predictor instead of two (GetModel, then Predict). A given version's order never changes
 * (versions are immutable), so it is kept until evicted (least recently used beyond `maxEntries`);
 * "the latest version" is re-read after `latestTtlMs`, so a newly served version is picked up within
 * that time. Lookups in flight are shared; failed ones are not kept.
 */
export class FeatureOrderCache {
  private readonly entries = new Map<string, { order: Promise<FeatureOrder>; expiresAt: number }>();

  constructor(
    private readonly fetch: (name: string, version: number) => Promise<ModelInfo>,
    private readonly opts: { latestTtlMs?: number; maxEntries?: number; now?: () => number } = {},
  ) {}

  /** The order of `version` of `name`; version 0 = the latest one. */
  get(name: string, version: number): Promise<FeatureOrder> {
    const now = (this.opts.now ?? Date.now)();
    const key = `${version}\u0000${name}`;
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > now) {
      this.entries.delete(key); // re-insert: most recently used last
      this.entries.set(key, hit);
      return hit.order;
    }
    const order = this.fetch(name, version).then((m): FeatureOrder => {
      const o = { name: m.name, version: m.version, featureKeys: m.featureKeys };
      if (version === 0) this.remember(`${o.version}\u0000${name}`, Promise.resolve(o), Infinity);
      return o;
    });
    this.remember(key, order, version === 0 ? now + (this.opts.latestTtlMs ?? 1_000) : Infinity);
    order.catch(() => {
      if (this.entries.get(key)?.order === order) this.entries.delete(key);
    });
    return order;
  }

  /** Forgets the latest version of `name` (e.g. the predictor no longer serves the one cached). */
  forgetLatest(name: string): void {
    this.entries.delete(`0\u0000${name}`);
  }

  private remember(key: string, order: Promise<FeatureOrder>, expiresAt: number): void {
    this.entries.delete(key);
    this.entries.set(key, { order, expiresAt });
    const max = this.opts.maxEntries ?? 1_000;
    while (this.entries.size > max) this.entries.delete(this.entries.keys().next().value!);
  }
}
