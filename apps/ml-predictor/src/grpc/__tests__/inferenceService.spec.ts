import { status } from '@grpc/grpc-js';
import { GRPCInferenceServiceClient, ModelInferRequest } from '@pipeline/proto';
import { call, connect, failure, linearModel, LINEAR_V1, LINEAR_V2, startHarness, type Harness } from './harness';

/** Little-endian bytes of `values` as FP64 or FP32. */
function rawBytes(values: number[], datatype: 'FP64' | 'FP32'): Buffer {
  const size = datatype === 'FP64' ? 8 : 4;
  const buf = Buffer.alloc(values.length * size);
  values.forEach((v, i) => (datatype === 'FP64' ? buf.writeDoubleLE(v, i * 8) : buf.writeFloatLE(v, i * 4)));
  return buf;
}

function readRaw(buf: Buffer): number[] {
  return Array.from({ length: buf.length / 8 }, (_, i) => buf.readDoubleLE(i * 8));
}

/** y = 2·x0: one feature, so a shape [rows, 1] passes the feature-count check and only the data can refute it. */
const SINGLE = linearModel('single', 1, 0, [2]);

describe('inference.GRPCInferenceService (KServe Open Inference Protocol v2) over a real gRPC server', () => {
  let h: Harness;
  let client: GRPCInferenceServiceClient;
  beforeEach(async () => {
    h = await startHarness({ serverVersion: '1.2.3', models: [LINEAR_V1, LINEAR_V2, SINGLE] });
    client = connect(GRPCInferenceServiceClient, h.address);
  });
  afterEach(async () => {
    client.close();
    await h.close();
  });
  const infer = (req: Parameters<typeof ModelInferRequest.fromPartial>[0], deadlineMs?: number) =>
    call(client, client.modelInfer, ModelInferRequest.fromPartial(req), deadlineMs);
  const tensor = (datatype: string, shape: number[], contents?: { fp64Contents?: number[]; fp32Contents?: number[] }) => ({
    name: 'input-0',
    datatype,
    shape,
    contents,
  });

  it('reports live, and ready only while serving with models loaded', async () => {
    expect(await call(client, client.serverLive, {})).toEqual({ live: true });
    expect(await call(client, client.serverReady, {})).toEqual({ ready: true });
    h.catalog.ready = false;
    expect(await call(client, client.serverReady, {})).toEqual({ ready: false });
    h.catalog.ready = true;
    h.grpc.setServing(false);
    expect(await call(client, client.serverReady, {})).toEqual({ ready: false });
    expect(await call(client, client.serverLive, {})).toEqual({ live: true });
  });

  it('reports model readiness per name and version', async () => {
    expect(await call(client, client.modelReady, { name: 'linear', version: '' })).toEqual({ ready: true });
    expect(await call(client, client.modelReady, { name: 'linear', version: '1' })).toEqual({ ready: true });
    expect(await call(client, client.modelReady, { name: 'linear', version: '9' })).toEqual({ ready: false });
    expect(await call(client, client.modelReady, { name: 'nope', version: '' })).toEqual({ ready: false });
    expect(await failure(call(client, client.modelReady, { name: 'linear', version: 'v1' }))).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'version must be a positive decimal integer or "", got "v1"',
    });
  });

  it('describes the server', async () => {
    expect(await call(client, client.serverMetadata, {})).toEqual({ name: 'ml-predictor', version: '1.2.3', extensions: [] });
  });

  it('describes a model: its versions and [-1, n_features] FP64 input / [-1, 1] FP64 "predictions" output', async () => {
    expect(await call(client, client.modelMetadata, { name: 'linear', version: '' })).toEqual({
      name: 'linear',
      versions: ['1', '2'],
      platform: 'linear_regression',
      inputs: [{ name: 'features', datatype: 'FP64', shape: [-1, 3] }],
      outputs: [{ name: 'predictions', datatype: 'FP64', shape: [-1, 1] }],
    });
    expect(await failure(call(client, client.modelMetadata, { name: 'linear', version: '5' }))).toEqual({
      code: status.NOT_FOUND,
      details: 'model "linear" version 5 not found',
    });
  });

  it('infers FP64 rows sent in contents and answers in contents', async () => {
    const res = await infer({ modelName: 'linear', id: 'req-1', inputs: [tensor('FP64', [2, 3], { fp64Contents: [1, 2, 3, 0, 0, 0] })] });
    expect(res).toEqual({
      modelName: 'linear',
      modelVersion: '2',
      id: 'req-1',
      parameters: {},
      outputs: [
        {
          name: 'predictions',
          datatype: 'FP64',
          shape: [2, 1],
          parameters: {},
          contents: {
            boolContents: [],
            intContents: [],
            int64Contents: [],
            uintContents: [],
            uint64Contents: [],
            fp32Contents: [],
            fp64Contents: [16, 10],
            bytesContents: [],
          },
        },
      ],
      rawOutputContents: [],
    });
    expect(h.predictions).toEqual([{ model: 'linear', api: 'kserve', ok: true }]);
  });

  it('infers FP32 rows in contents with the requested version', async () => {
    const res = await infer({
      modelName: 'linear',
      modelVersion: '1',
      inputs: [tensor('FP32', [1, 3], { fp32Contents: [1, 2, 3] })],
      outputs: [{ name: 'predictions' }],
    });
    expect([res.modelVersion, res.outputs[0].contents?.fp64Contents]).toEqual(['1', [-1.5]]);
  });

  it.each(['FP64', 'FP32'] as const)('infers %s rows sent in raw_input_contents and answers in raw_output_contents', async (datatype) => {
    const res = await infer({
      modelName: 'linear',
      modelVersion: '1',
      inputs: [tensor(datatype, [3, 3])],
      rawInputContents: [rawBytes([1, 2, 3, 0, 0, 0, -1, 0.5, 4], datatype)],
    });
    expect(res.outputs).toEqual([{ name: 'predictions', datatype: 'FP64', shape: [3, 1], parameters: {}, contents: undefined }]);
    expect(res.rawOutputContents.map(readRaw)).toEqual([[-1.5, 1, -0.5]]);
  });

  describe('errors', () => {
    it.each([
      ['an unknown model', { modelName: 'nope', inputs: [tensor('FP64', [1, 3], { fp64Contents: [1, 2, 3] })] }, status.NOT_FOUND, 'model "nope" not found'],
      [
        'an unknown version',
        { modelName: 'linear', modelVersion: '4', inputs: [tensor('FP64', [1, 3], { fp64Contents: [1, 2, 3] })] },
        status.NOT_FOUND,
        'model "linear" version 4 not found',
      ],
      [
        'a malformed version',
        { modelName: 'linear', modelVersion: 'latest', inputs: [] },
        status.INVALID_ARGUMENT,
        'model_version must be a positive decimal integer or "", got "latest"',
      ],
      ['no inputs', { modelName: 'linear', inputs: [] }, status.INVALID_ARGUMENT, 'inputs must hold exactly 1 tensor of shape [rows, 3], got 0'],
      [
        'an unsupported datatype',
        { modelName: 'linear', inputs: [tensor('INT32', [1, 3])] },
        status.INVALID_ARGUMENT,
        'inputs[0].datatype must be "FP64" or "FP32", got "INT32"',
      ],
      [
        'a 1-D shape',
        { modelName: 'linear', inputs: [tensor('FP64', [3], { fp64Contents: [1, 2, 3] })] },
        status.INVALID_ARGUMENT,
        'inputs[0].shape must be [rows, 3] with rows >= 1, got [3]',
      ],
      [
        'a wrong feature count',
        { modelName: 'linear', inputs: [tensor('FP64', [1, 4], { fp64Contents: [1, 2, 3, 4] })] },
        status.INVALID_ARGUMENT,
        'inputs[0].shape must be [rows, 3] with rows >= 1, got [1, 4]',
      ],
      [
        'zero rows',
        { modelName: 'linear', inputs: [tensor('FP64', [0, 3], { fp64Contents: [] })] },
        status.INVALID_ARGUMENT,
        'inputs[0].shape must be [rows, 3] with rows >= 1, got [0, 3]',
      ],
      [
        'contents shorter than the shape',
        { modelName: 'linear', inputs: [tensor('FP64', [2, 3], { fp64Contents: [1, 2, 3] })] },
        status.INVALID_ARGUMENT,
        'inputs[0].contents.fp64_contents must hold 6 values (shape [2, 3]), got 3',
      ],
      [
        'contents in the field of another datatype',
        { modelName: 'linear', inputs: [tensor('FP32', [1, 3], { fp64Contents: [1, 2, 3] })] },
        status.INVALID_ARGUMENT,
        'inputs[0].contents.fp32_contents must hold 3 values (shape [1, 3]), got 0',
      ],
      [
        'NaN in contents',
        { modelName: 'linear', inputs: [tensor('FP64', [2, 3], { fp64Contents: [1, 2, 3, 4, 5, NaN] })] },
        status.INVALID_ARGUMENT,
        'inputs[0].contents.fp64_contents[5] (row 1, feature "x2") must be a finite number, got NaN',
      ],
      [
        'Infinity in raw bytes',
        { modelName: 'linear', inputs: [tensor('FP64', [1, 3])], rawInputContents: [rawBytes([1, Infinity, 3], 'FP64')] },
        status.INVALID_ARGUMENT,
        'raw_input_contents[0] (row 0, feature "x1") must be a finite number, got Infinity',
      ],
      [
        'raw bytes of the wrong length',
        { modelName: 'linear', inputs: [tensor('FP64', [2, 3])], rawInputContents: [rawBytes([1, 2, 3], 'FP64')] },
        status.INVALID_ARGUMENT,
        'raw_input_contents[0] must hold 48 bytes (FP64 shape [2, 3]), got 24',
      ],
      [
        'both raw bytes and contents',
        { modelName: 'linear', inputs: [tensor('FP64', [1, 3], { fp64Contents: [1, 2, 3] })], rawInputContents: [rawBytes([1, 2, 3], 'FP64')] },
        status.INVALID_ARGUMENT,
        'inputs[0].contents must be empty when raw_input_contents is used',
      ],
      [
        'an unknown requested output',
        { modelName: 'linear', inputs: [tensor('FP64', [1, 3], { fp64Contents: [1, 2, 3] })], outputs: [{ name: 'proba' }] },
        status.INVALID_ARGUMENT,
        'outputs[0].name must be "predictions", got "proba"',
      ],
    ])('rejects %s', async (_, req, code, details) => {
      expect(await failure(infer(req))).toEqual({ code, details });
    });

    it.each([
      ['2^30', 2 ** 30],
      ['2^40', 2 ** 40],
    ])('rejects a declared shape [%s, 1] with no data before allocating for it', async (_, rows) => {
      const rssBefore = process.memoryUsage.rss();
      expect(await failure(infer({ modelName: 'single', inputs: [tensor('FP64', [rows, 1])] }))).toEqual({
        code: status.INVALID_ARGUMENT,
        details: `inputs[0].contents.fp64_contents must hold ${rows} values (shape [${rows}, 1]), got 0`,
      });
      expect(
        await failure(infer({ modelName: 'single', inputs: [tensor('FP32', [rows, 1])], rawInputContents: [rawBytes([1], 'FP32')] })),
      ).toEqual({
        code: status.INVALID_ARGUMENT,
        details: `raw_input_contents[0] must hold ${rows * 4} bytes (FP32 shape [${rows}, 1]), got 4`,
      });
      expect(h.errors).toEqual([]); // answered as a bad request, nothing logged as unexpected
      // A Float64Array of 2^30 values alone is 8 GiB; allow ordinary test-process noise only.
      expect(process.memoryUsage.rss() - rssBefore).toBeLessThan(256 * 1024 * 1024);
    });

    it('rejects a shape whose value count cannot be indexed, and one not matching the model', async () => {
      expect(await failure(infer({ modelName: 'single', inputs: [tensor('FP64', [2 ** 52, 1])] }))).toEqual({
        code: status.INVALID_ARGUMENT,
        details: `inputs[0].shape [${2 ** 52}, 1] declares more values than can be indexed (at most ${Math.floor(Number.MAX_SAFE_INTEGER / 8)})`,
      });
      expect(await failure(infer({ modelName: 'linear', inputs: [tensor('FP64', [2 ** 40, 1])] }))).toEqual({
        code: status.INVALID_ARGUMENT,
        details: `inputs[0].shape must be [rows, 3] with rows >= 1, got [${2 ** 40}, 1]`,
      });
      expect(await failure(infer({ modelName: 'single', inputs: [tensor('FP64', [-(2 ** 40), 1])] }))).toEqual({
        code: status.INVALID_ARGUMENT,
        details: `inputs[0].shape must be [rows, 1] with rows >= 1, got [${-(2 ** 40)}, 1]`,
      });
      expect(h.errors).toEqual([]);
    });

    it('fails with DEADLINE_EXCEEDED when the deadline is already past', async () => {
      const result = await failure(infer({ modelName: 'linear', inputs: [tensor('FP64', [1, 3], { fp64Contents: [1, 2, 3] })] }, -1));
      expect(result.code).toBe(status.DEADLINE_EXCEEDED);
      expect(h.predictions).toEqual([]);
    });
  });
});
