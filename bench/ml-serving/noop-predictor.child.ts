// The floor for serving.bench.ts: ml.v1.PredictorService/Predict served the way ml-predictor serves it
// (GrpcFront's fast path, a grpc-js server behind it for every other method, the same ts-proto codecs)
// by a handler that answers one constant prediction without looking at a model, and nothing else in the
// process (no Kafka, no metrics). The bench runs it as its own process with the predictor's V8 flags;
// what it measures is what the transport and Node's HTTP/2 cost on this machine, which the predictor
// cannot go below. BENCH_FLOOR=grpc-js serves Predict from grpc-js alone instead (the transport
// ml-predictor used before GrpcFront). BENCH_FLOOR=raw-h2 serves it from a prototype HTTP/2 server of
// our own without node:http2 (rawH2Floor.ts), to show what node:http2's per-stream objects cost.
//   node noop-predictor.child.js <port>     (prints "listening <port>" once bound)
import * as grpc from '@grpc/grpc-js';
import { startRawH2Floor } from './rawH2Floor';
import { GrpcFront, PredictorServiceService, type FastUnaryRoute, type PredictRequest, type PredictResponse, type PredictorServiceServer, type UnaryHandler } from '@pipeline/proto';

const unimplemented = (_call: unknown, cb: grpc.sendUnaryData<never>) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'not in the floor server' });
const predict: UnaryHandler<PredictRequest, PredictResponse> = (call, cb) => cb(null, { predictions: [0], modelName: call.request.modelName, modelVersion: 1 });
const service: PredictorServiceServer = { predict, listModels: unimplemented, getModel: unimplemented };
const server = new grpc.Server({ 'grpc.enable_channelz': 0 }); // as ml-predictor (GRPC_SERVER_OPTIONS)
server.addService(PredictorServiceService, service);
const port = Number(process.argv[2] ?? 0);
let stop: () => Promise<void>;
if (process.env['BENCH_FLOOR'] === 'raw-h2') {
  // Prototype: no node:http2 at all (rawH2Floor.ts).
  const raw = startRawH2Floor(port);
  void raw.then(() => console.log(`listening ${port}`));
  stop = async () => {
    (await raw).close();
  };
} else if (process.env['BENCH_FLOOR'] === 'grpc-js') {
  server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
    if (err) throw err;
    console.log(`listening ${bound}`);
  });
  stop = () => new Promise((resolve) => server.tryShutdown(() => resolve()));
} else {
  const front = new GrpcFront({
    grpcServer: server,
    maxReceiveMessageBytes: 4 * 1024 * 1024,
    routes: [{ definition: PredictorServiceService.predict, handler: predict }] as FastUnaryRoute[],
  });
  void front.listen('127.0.0.1', port).then((bound) => console.log(`listening ${bound}`));
  stop = async () => {
    await front.close(1000);
    server.forceShutdown();
  };
}
process.on('SIGTERM', () => void stop().then(() => process.exit(0)));
