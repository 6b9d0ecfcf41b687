import type { ModelInfo, PredictorServiceServer } from '@pipeline/proto';
import { InternalPredictError } from './errors';
import type { ModelCatalog, ServableModel } from './ModelCatalog';
import { observePredict, type PredictObserver } from './PredictObserver';
import { readPredictRows } from './readPredictRows';
import { resolveModel } from './resolveModel';
import type { ErrorLogger } from './toGrpcError';
import { assertCallAlive, unaryHandler } from './unaryHandler';

/** ml.v1.PredictorService over a ModelCatalog. Version 0 in a request means latest. */
export function createPredictorService(catalog: ModelCatalog, log: ErrorLogger, onPredict?: PredictObserver): PredictorServiceServer {
  const versionOf = (v: number) => (v === 0 ? undefined : v);
  return {
    predict: unaryHandler('ml.v1.PredictorService/Predict', log, (request, call) =>
      observePredict(onPredict, 'ml.v1', (err) => log(err, 'onPredict'), (setModel) => {
        const model = resolveModel(catalog, request.modelName, versionOf(request.version), 'model_name');
        setModel(model.name);
        const { x, nRows } = readPredictRows(request, model);
        assertCallAlive(call);
        const predictions = runPredict(model, x, nRows);
        return { predictions: Array.from(predictions), modelName: model.name, modelVersion: model.version };
      }),
    ),
    listModels: unaryHandler('ml.v1.PredictorService/ListModels', log, () => ({
      models: catalog
        .list()
        .map(toModelInfo)
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version - b.version)),
    })),
    getModel: unaryHandler('ml.v1.PredictorService/GetModel', log, (request) => ({
      model: toModelInfo(resolveModel(catalog, request.modelName, versionOf(request.version), 'model_name')),
    })),
  };
}

/** Calls `model.predict` and checks it kept its contract (one output per row). */
export function runPredict(model: ServableModel, x: Float64Array, nRows: number): Float64Array {
  const out = model.predict(x, nRows);
  if (out.length !== nRows) {
    throw new InternalPredictError(`model "${model.name}" version ${model.version} returned ${out.length} predictions for ${nRows} rows`);
  }
  return out;
}

function toModelInfo(model: ServableModel): ModelInfo {
  return {
    name: model.name,
    version: model.version,
    type: model.type,
    featureKeys: [...model.featureKeys],
    metrics: { ...model.metrics },
    featureImportances: { ...(model.featureImportances ?? {}) },
    trainedAt: model.trainedAt,
  };
}
