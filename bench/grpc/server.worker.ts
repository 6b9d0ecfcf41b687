// Runs the ml-predictor gRPC server in its own thread (own event loop) for grpc.bench.ts, with one
// stand-in model whose predict costs ~2 µs per call (busy-wait on the monotonic clock plus a
// 3-feature linear sum). The real random forest will replace it; re-run the bench when it does.
import { parentPort } from 'node:worker_threads';
import { createGrpcServer, type ModelCatalog, type ServableModel } from '../../apps/ml-predictor/src/grpc';

const PREDICT_COST_NS = 2_000n;

const model: ServableModel = {
  name: 'bench',
  version: 1,
  type: 'stand-in-2us',
  featureKeys: ['x0', 'x1', 'x2'],
  trainedAt: '2026-01-01T00:00:00.000Z',
  metrics: {},
  predict(x, nRows) {
    const out = new Float64Array(nRows);
    for (let r = 0; r < nRows; r++) {
      const end = process.hrtime.bigint() + PREDICT_COST_NS;
      while (process.hrtime.bigint() < end);
      out[r] = 1 + 2 * x[r * 3] - 3 * x[r * 3 + 1] + 0.5 * x[r * 3 + 2];
    }
    return out;
  },
};
const catalog: ModelCatalog = { get: (name) => (name === 'bench' ? model : undefined), list: () => [model], isReady: () => true };

const grpc = createGrpcServer({ catalog });
grpc.start('127.0.0.1', 0).then((port) => parentPort!.postMessage({ port }));
parentPort!.on('message', (msg: { stop?: boolean }) => {
  if (msg.stop) void grpc.stop(1000).then(() => process.exit(0));
});
