// The floor for serving.bench.ts: a plain grpc-js server for ml.v1.PredictorService/Predict with the
// same ts-proto codecs as ml-predictor, whose handler answers one constant prediction without looking
// at a model, and nothing else in the process (no Kafka, no metrics). The bench runs it as its own
// process with the predictor's V8 flags; what it measures is what grpc-js and Node's HTTP/2 cost on
// this machine, which no predictor built on them can go below.
//   node noop-predictor.child.js <port>     (prints "listening <port>" once bound)
import * as grpc from '@grpc/grpc-js';
import { PredictorServiceService, type PredictorServiceServer } from '@pipeline/proto';

const unimplemented = (_call: unknown, cb: grpc.sendUnaryData<never>) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'not in the floor server' });
const service: PredictorServiceServer = {
  predict: (call, cb) => cb(null, { predictions: [0], modelName: call.request.modelName, modelVersion: 1 }),
  listModels: unimplemented,
  getModel: unimplemented,
};
const server = new grpc.Server({ 'grpc.enable_channelz': 0 }); // as ml-predictor (GRPC_SERVER_OPTIONS)
server.addService(PredictorServiceService, service);
server.bindAsync(`127.0.0.1:${process.argv[2] ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  console.log(`listening ${port}`);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
