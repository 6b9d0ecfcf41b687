import { InferTensorContents, type GRPCInferenceServiceServer, type ModelInferResponse } from '@pipeline/proto';
import { runPredict } from './createPredictorService';
import { InvalidArgumentError } from '@pipeline/contracts';
import type { ModelCatalog } from './ModelCatalog';
import { observePredict, type PredictObserver } from './PredictObserver';
import { readInferInput } from './readInferInput';
import { parseVersionString, resolveModel } from './resolveModel';
import type { ErrorLogger } from './toGrpcError';
import { assertCallAlive, unaryHandler } from './unaryHandler';

/** Name of the single output tensor: FP64, shape [rows, 1]. */
export const OUTPUT_TENSOR = 'predictions';
/** Input tensor name advertised by ModelMetadata; ModelInfer accepts any name for its one input. */
export const INPUT_TENSOR = 'features';

/**
 * inference.GRPCInferenceService (KServe Open Inference Protocol v2) over a ModelCatalog.
 * - ServerLive is always true while the process answers; ServerReady = serving && catalog ready.
 * - Versions travel as decimal strings; "" means latest.
 * - ModelInfer: see readInferInput for accepted inputs. The answer is one FP64 tensor named
 *   "predictions" with shape [rows, 1], in `raw_output_contents` when the request used
 *   `raw_input_contents`, otherwise in `outputs[0].contents.fp64_contents`.
 */
export function createInferenceService(opts: {
  catalog: ModelCatalog;
  isServing: () => boolean;
  log: ErrorLogger;
  serverName: string;
  serverVersion: string;
  onPredict?: PredictObserver;
}): GRPCInferenceServiceServer {
  const { catalog, log } = opts;
  return {
    serverLive: unaryHandler('inference.GRPCInferenceService/ServerLive', log, () => ({ live: true })),
    serverReady: unaryHandler('inference.GRPCInferenceService/ServerReady', log, () => ({
      ready: opts.isServing() && catalog.isReady(),
    })),
    modelReady: unaryHandler('inference.GRPCInferenceService/ModelReady', log, (request) => {
      const version = parseVersionString(request.version, 'version');
      if (request.name === '') throw new InvalidArgumentError('name must be non-empty');
      return { ready: catalog.isReady() && catalog.get(request.name, version) !== undefined };
    }),
    serverMetadata: unaryHandler('inference.GRPCInferenceService/ServerMetadata', log, () => ({
      name: opts.serverName,
      version: opts.serverVersion,
      extensions: [],
    })),
    modelMetadata: unaryHandler('inference.GRPCInferenceService/ModelMetadata', log, (request) => {
      const model = resolveModel(catalog, request.name, parseVersionString(request.version, 'version'), 'name');
      const versions = catalog
        .list()
        .filter((m) => m.name === model.name)
        .map((m) => m.version)
        .sort((a, b) => a - b)
        .map(String);
      return {
        name: model.name,
        versions,
        platform: model.type,
        inputs: [{ name: INPUT_TENSOR, datatype: 'FP64', shape: [-1, model.featureKeys.length] }],
        outputs: [{ name: OUTPUT_TENSOR, datatype: 'FP64', shape: [-1, 1] }],
      };
    }),
    modelInfer: unaryHandler('inference.GRPCInferenceService/ModelInfer', log, (request, call) =>
      observePredict(opts.onPredict, 'kserve', (err) => log(err, 'onPredict'), (setModel): ModelInferResponse => {
        const model = resolveModel(catalog, request.modelName, parseVersionString(request.modelVersion, 'model_version'), 'model_name');
        setModel(model.name);
        request.outputs.forEach((o, i) => {
          if (o.name !== OUTPUT_TENSOR) {
            throw new InvalidArgumentError(`outputs[${i}].name must be "${OUTPUT_TENSOR}", got ${JSON.stringify(o.name)}`);
          }
        });
        const { x, nRows, raw } = readInferInput(request, model);
        assertCallAlive(call);
        const predictions = runPredict(model, x, nRows);
        const tensor = { name: OUTPUT_TENSOR, datatype: 'FP64', shape: [nRows, 1], parameters: {} };
        return {
          modelName: model.name,
          modelVersion: String(model.version),
          id: request.id,
          parameters: {},
          outputs: [{ ...tensor, contents: raw ? undefined : InferTensorContents.fromPartial({ fp64Contents: Array.from(predictions) }) }],
          rawOutputContents: raw ? [toLittleEndian(predictions)] : [],
        };
      }),
    ),
  };
}

/** FP64 values as little-endian bytes, as raw_output_contents requires on any host. */
function toLittleEndian(values: Float64Array): Buffer {
  const out = Buffer.allocUnsafe(values.length * 8);
  for (let i = 0; i < values.length; i++) out.writeDoubleLE(values[i], i * 8);
  return out;
}
