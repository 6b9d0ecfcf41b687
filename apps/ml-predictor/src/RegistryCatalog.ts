import { createPredictor, decodeModel, type TrainedModel } from '@pipeline/ml';
import type { RegisteredModel } from '@pipeline/model-registry';
import type { ModelCatalog, ServableModel } from './grpc';

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
 * `maxVersionsPerModel` per name. Hot swap: `load` decodes the new version completely first and
 * then replaces one map entry — a synchronous step between two requests, so a request that has
 * resolved its model keeps using it, and the next one sees the new latest; none fails in between.
 */
export class RegistryCatalog implements ModelCatalog {
  private readonly models = new Map<string, Map<number, ServableModel>>();
  private ready = false;

  constructor(private readonly opts: { maxVersionsPerModel: number; onLoadError?(name: string, version: number, err: Error): void; onLoaded?(model: ServableModel): void }) {}

  /** Decodes and installs a registry version; a model that fails to decode is reported and skipped. */
  load(registered: RegisteredModel): void {
    const { name, version } = registered.manifest;
    let servable: ServableModel;
    try {
      const model = decodeModel(registered.bytes);
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
    this.opts.onLoaded?.(servable);
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
