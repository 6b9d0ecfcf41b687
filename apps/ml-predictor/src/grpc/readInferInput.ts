import type { ModelInferRequest } from '@pipeline/proto';
import { InvalidArgumentError } from '@pipeline/contracts';
import type { ServableModel } from './ModelCatalog';
import { nonFinite } from './readPredictRows';

/** Rows decoded from a KServe ModelInferRequest, and the form the caller used (answered in kind). */
export interface InferInput {
  x: Float64Array;
  nRows: number;
  /** True when the input came in `raw_input_contents`; the output then goes in `raw_output_contents`. */
  raw: boolean;
}

const BYTES_PER_ELEMENT = { FP64: 8, FP32: 4 } as const;

/**
 * Validates the single input tensor of a KServe ModelInferRequest against `model` and decodes it.
 * Accepted: exactly one input (any name), datatype "FP64" or "FP32", shape [rows, n_features] with
 * rows >= 1, data either in `contents.fp64_contents` / `contents.fp32_contents` or in
 * `raw_input_contents[0]` (little-endian, rows * n_features * 8 or 4 bytes) — not both.
 * Every violation is INVALID_ARGUMENT naming the field, e.g.
 * `inputs[0].shape must be [rows, 3] with rows >= 1, got [2]`. The declared shape is checked against
 * the model's feature count and against the data actually sent (values or bytes) before the decoded
 * array is allocated, so a shape such as [2^30, 1] with no data costs nothing.
 */
export function readInferInput(request: ModelInferRequest, model: ServableModel): InferInput {
  const nFeatures = model.featureKeys.length;
  if (request.inputs.length !== 1) {
    throw new InvalidArgumentError(`inputs must hold exactly 1 tensor of shape [rows, ${nFeatures}], got ${request.inputs.length}`);
  }
  const input = request.inputs[0];
  const datatype = input.datatype;
  if (datatype !== 'FP64' && datatype !== 'FP32') {
    throw new InvalidArgumentError(`inputs[0].datatype must be "FP64" or "FP32", got ${JSON.stringify(datatype)}`);
  }
  const shape = input.shape;
  if (shape.length !== 2 || shape[1] !== nFeatures || !Number.isSafeInteger(shape[0]) || shape[0] < 1) {
    throw new InvalidArgumentError(`inputs[0].shape must be [rows, ${nFeatures}] with rows >= 1, got [${shape.join(', ')}]`);
  }
  const nRows = shape[0];
  const size = BYTES_PER_ELEMENT[datatype];
  const n = nRows * nFeatures;
  if (!Number.isSafeInteger(n * 8)) {
    throw new InvalidArgumentError(`inputs[0].shape [${nRows}, ${nFeatures}] declares more values than can be indexed (at most ${Math.floor(Number.MAX_SAFE_INTEGER / 8)})`);
  }
  const raw = request.rawInputContents.length > 0;

  // Everything below checks the declared shape against the data actually received; only then is
  // anything of the declared size allocated (a client's shape alone must not size an allocation).
  if (raw) {
    if (input.contents !== undefined) {
      throw new InvalidArgumentError('inputs[0].contents must be empty when raw_input_contents is used');
    }
    if (request.rawInputContents.length !== 1) {
      throw new InvalidArgumentError(`raw_input_contents must hold exactly 1 entry (one per input), got ${request.rawInputContents.length}`);
    }
    const bytes = request.rawInputContents[0];
    if (bytes.length !== n * size) {
      throw new InvalidArgumentError(
        `raw_input_contents[0] must hold ${n * size} bytes (${datatype} shape [${nRows}, ${nFeatures}]), got ${bytes.length}`,
      );
    }
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = datatype === 'FP64' ? bytes.readDoubleLE(i * 8) : bytes.readFloatLE(i * 4);
      if (!Number.isFinite(v)) throw nonFinite('raw_input_contents[0]', i, nFeatures, model, v);
      x[i] = v;
    }
    return { x, nRows, raw };
  }

  const field = datatype === 'FP64' ? 'fp64_contents' : 'fp32_contents';
  const values = datatype === 'FP64' ? input.contents?.fp64Contents : input.contents?.fp32Contents;
  if (!values || values.length !== n) {
    throw new InvalidArgumentError(
      `inputs[0].contents.${field} must hold ${n} values (shape [${nRows}, ${nFeatures}]), got ${values?.length ?? 0}`,
    );
  }
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) throw nonFinite(`inputs[0].contents.${field}[${i}]`, i, nFeatures, model, v);
    x[i] = v;
  }
  return { x, nRows, raw };
}
