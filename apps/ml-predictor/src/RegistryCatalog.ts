import { createPredictor, type TrainedModel } from '@pipeline/ml';
import type { RegisteredModel } from '@pipeline/model-registry';
import type { ModelCatalog, ServableModel } from './grpc';
import { createInlineDecoder, type DecodeThread, type ModelDecoder } from './ModelDecoder';

/** A decoded model ready to serve (the TrainedModel is kept for its metadata). */
export function toServable(model: TrainedModel): ServableModel {
  const predictor = createPredictor(model);
  return {
    name: model.name,
    version: model.version,
    type: model.type,
    featureKeys: model.featureKeys,
    trainedAt: model.provenance.trainedAt,
    metrics: model.metrics,
    ...(model.featureImportances === undefined ? {} : { featureImportances: model.featureImportances }),
    predict: (x, nRows) => predictor.predict(x, nRows),
  };
}

/**
 * The predictor's ModelCatalog: decoded versions of every model in the registry, newest
 * `maxVersionsPerModel` per name. Decoding happens in `decoder` (a worker thread in the service),
 * so calls keep being answered meanwhile; versions are installed in the order `load` was called.
 * Hot swap: a new version is installed only once completely decoded, by replacing one map entry —
 * a synchronous step between two requests, so a request that has resolved its model keeps using
 * it, and the next one sees the new latest; none fails in between.
 *
 * Memory is bounded by names too: at most `maxModels` names are served (each keeps up to
 * `maxVersionsPerModel` decoded versions). A version of a further name is refused before it is
 * decoded and reported to `onRefused`; a name whose versions are all withdrawn frees its place.
 */
export class RegistryCatalog implements ModelCatalog {
  private readonly models = new Map<string, Map<number, ServableModel>>();
  private readonly decoder: ModelDecoder;
  private ready = false;
  /** Settles when every `load` so far has installed (or reported) its version. Never rejects. */
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly opts: {
      maxVersionsPerModel: number;
      /** Most model names served at once. Default: no limit. */
      maxModels?: number;
      /** A version refused because `maxModels` names are already served. */
      onRefused?(name: string, version: number, reason: 'model_cap'): void;
      /** Default: decode on the main thread. */
      decoder?: ModelDecoder;
      onLoadError?(name: string, version: number, err: Error): void;
      /** `seconds`: from `load` to installed (queueing behind earlier versions included). */
      onLoaded?(model: ServableModel, info: { thread: DecodeThread; seconds: number }): void;
      onUnloaded?(name: string, version: number): void;
    },
  ) {
    this.decoder = opts.decoder ?? createInlineDecoder();
  }

  /**
   * Decodes and installs a registry version; a model that fails to decode is reported and
   * skipped. The returned promise (also `settled()`) resolves once it is installed or reported.
   */
  load(registered: RegisteredModel): Promise<void> {
    const { name, version } = registered.manifest;
    if (this.overCap(name)) {
      this.opts.onRefused?.(name, version, 'model_cap');
      return this.tail;
    }
    const started = performance.now();
    const decoding = this.decoder.decode(registered.bytes);
    decoding.catch(() => undefined); // handled below, in turn
    this.tail = this.tail
      .then(() => decoding)
      .then(
        ({ model, thread }) => this.install(name, version, model, thread, started),
        (err: Error) => this.opts.onLoadError?.(name, version, err),
      )
      .catch(() => undefined); // a throwing callback must not stop later versions from loading
    return this.tail;
  }

  /**
   * Stops serving a version withdrawn from the registry — after any earlier `load` of it has
   * finished, so a withdrawal never races an install. Resolves when done.
   */
  unload(name: string, version: number): Promise<void> {
    this.tail = this.tail
      .then(() => {
        const versions = this.models.get(name);
        if (!versions?.delete(version)) return;
        if (versions.size === 0) this.models.delete(name);
        this.opts.onUnloaded?.(name, version);
      })
      .catch(() => undefined); // as in load: a throwing callback must not stop later versions
    return this.tail;
  }

  /** Resolves once every version passed to `load` so far is installed or reported. */
  settled(): Promise<void> {
    return this.tail;
  }

  /** Whether a version of `name` would be one name more than `maxModels`. */
  private overCap(name: string): boolean {
    return this.opts.maxModels !== undefined && !this.models.has(name) && this.models.size >= this.opts.maxModels;
  }

  private install(name: string, version: number, model: TrainedModel, thread: DecodeThread, started: number): void {
    if (this.overCap(name)) {
      // Another name took the last place while this version was decoding.
      this.opts.onRefused?.(name, version, 'model_cap');
      return;
    }
    let servable: ServableModel;
    try {
      if (model.name !== name || model.version !== version) {
        throw new Error(`model file says ${model.name} version ${model.version}, registry key says ${name} version ${version}`);
      }
      servable = toServable(model);
    } catch (err) {
      this.opts.onLoadError?.(name, version, err as Error);
      return;
    }
    let versions = this.models.get(name);
    if (!versions) this.models.set(name, (versions = new Map()));
    versions.set(version, servable);
    if (versions.size > this.opts.maxVersionsPerModel) {
      const oldest = [...versions.keys()].sort((a, b) => a - b).slice(0, versions.size - this.opts.maxVersionsPerModel);
      for (const v of oldest) versions.delete(v);
    }
    this.opts.onLoaded?.(servable, { thread, seconds: (performance.now() - started) / 1000 });
  }

  /** Called once the registry view has caught up at start. */
  markReady(): void {
    this.ready = true;
  }

  get(name: string, version?: number): ServableModel | undefined {
    const versions = this.models.get(name);
    if (!versions) return undefined;
    if (version !== undefined) return versions.get(version);
    let best: ServableModel | undefined;
    for (const m of versions.values()) if (!best || m.version > best.version) best = m;
    return best;
  }

  list(): ServableModel[] {
    return [...this.models.values()].flatMap((v) => [...v.values()]);
  }

  isReady(): boolean {
    return this.ready;
  }
}

/** The newest `n` versions of each model in `models`, oldest first per model (the order to load them in). */
export function newestPerModel(models: readonly RegisteredModel[], n: number): RegisteredModel[] {
  const byName = new Map<string, RegisteredModel[]>();
  for (const m of models) {
    const versions = byName.get(m.manifest.name);
    if (versions) versions.push(m);
    else byName.set(m.manifest.name, [m]);
  }
  return [...byName.values()].flatMap((versions) => versions.sort((a, b) => a.manifest.version - b.manifest.version).slice(-n));
}
