// gRPC adapter of ml-predictor: serves a ModelCatalog over ml.v1, KServe OIP v2 and grpc.health.v1.
export { createGrpcServer, SERVICE_NAMES } from './createGrpcServer';
export type { GrpcServer, GrpcServerOptions } from './createGrpcServer';
export { INPUT_TENSOR, OUTPUT_TENSOR } from './createInferenceService';
export type { ModelCatalog, ServableModel } from './ModelCatalog';
export type { PredictObserver } from './PredictObserver';
export type { ErrorLogger } from './toGrpcError';
export { CancelledError, DeadlineExceededError, ModelNotFoundError, NotReadyError } from './errors';
