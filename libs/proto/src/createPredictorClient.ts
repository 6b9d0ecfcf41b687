import { Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import {
  GetModelRequest,
  GetModelResponse,
  ListModelsRequest,
  ListModelsResponse,
  PredictorServiceClient,
  PredictorServiceService,
  PredictRequest,
  PredictResponse,
} from './gen/ml/v1/predictor';
import { Http2UnaryChannel } from './Http2UnaryChannel';

/** Per-call options. */
export interface PredictorCallOptions {
  /** Deadline for this call in milliseconds from now; overrides `defaultTimeoutMs`. */
  timeoutMs?: number;
}

/** Options for {@link createPredictorClient}. */
export interface PredictorClientOptions {
  /** Deadline applied to every call without its own `timeoutMs`, in milliseconds. Default 1000. */
  defaultTimeoutMs?: number;
  /**
   * Channel credentials (e.g. TLS); when given (even `credentials.createInsecure()`), the calls go
   * through grpc-js. Default: plaintext (h2c) over a bare HTTP/2 connection (Http2UnaryChannel), for
   * in-cluster traffic.
   */
  credentials?: ChannelCredentials;
  /** Largest response accepted, in bytes; a larger one fails with RESOURCE_EXHAUSTED. Default 4 MiB. */
  maxReceiveMessageBytes?: number;
}

/**
 * Promise client for ml.v1.PredictorService. A rejected call carries a `ServiceError` (`code` is a
 * grpc-js `status` value: NOT_FOUND, INVALID_ARGUMENT, DEADLINE_EXCEEDED, UNAVAILABLE, ...; `details`
 * the server's message).
 */
export interface PredictorClient {
  /** Scores rows; `values` is row-major, `nFeatures` values per row; `version` 0/absent = latest. */
  predict(request: Partial<PredictRequest>, options?: PredictorCallOptions): Promise<PredictResponse>;
  /** Lists every loaded model version. */
  listModels(options?: PredictorCallOptions): Promise<ListModelsResponse>;
  /** Describes one model version; `version` 0/absent = latest. */
  getModel(request: Partial<GetModelRequest>, options?: PredictorCallOptions): Promise<GetModelResponse>;
  /** Closes the channel; calls after close fail. */
  close(): void;
}

/**
 * Creates a {@link PredictorClient} for `address` ("host:port"). One channel per client: create it
 * once and share it, since a channel multiplexes concurrent calls over one HTTP/2 connection.
 *
 * @example
 *   const client = createPredictorClient('ml-predictor:50051', { defaultTimeoutMs: 200 });
 *   const { predictions } = await client.predict({ modelName: 'session-duration', values: [1, 2, 3], nFeatures: 3 });
 */
export function createPredictorClient(address: string, options: PredictorClientOptions = {}): PredictorClient {
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 1000;
  const maxReceiveMessageBytes = options.maxReceiveMessageBytes ?? 4 * 1024 * 1024;
  if (options.credentials) return createGrpcJsPredictorClient(address, options.credentials, defaultTimeoutMs, maxReceiveMessageBytes);
  const channel = new Http2UnaryChannel(address, { maxReceiveMessageBytes });
  const timeout = (call?: PredictorCallOptions) => call?.timeoutMs ?? defaultTimeoutMs;
  return {
    predict: async (request, call) => PredictResponse.decode(await channel.call(PATHS.predict, PredictRequest.encode(PredictRequest.fromPartial(request)).finish(), timeout(call))),
    listModels: async (call) => ListModelsResponse.decode(await channel.call(PATHS.listModels, ListModelsRequest.encode({}).finish(), timeout(call))),
    getModel: async (request, call) => GetModelResponse.decode(await channel.call(PATHS.getModel, GetModelRequest.encode(GetModelRequest.fromPartial(request)).finish(), timeout(call))),
    close: () => channel.close(),
  };
}

/** HTTP/2 paths of the service's methods, from the generated service definition. */
const PATHS = {
  predict: PredictorServiceService.predict.path,
  listModels: PredictorServiceService.listModels.path,
  getModel: PredictorServiceService.getModel.path,
};

/** The same client over grpc-js, for channels with credentials (TLS). */
function createGrpcJsPredictorClient(address: string, credentials: ChannelCredentials, defaultTimeoutMs: number, maxReceiveMessageBytes: number): PredictorClient {
  // channelz (grpc-js's introspection registry) is not served by anything here, and it costs a
  // timestamp and counter updates on every call.
  const channelOptions = { 'grpc.enable_channelz': 0, 'grpc.max_receive_message_length': maxReceiveMessageBytes };
  const client = new PredictorServiceClient(address, credentials, channelOptions);
  const deadline = (call?: PredictorCallOptions) => ({ deadline: Date.now() + (call?.timeoutMs ?? defaultTimeoutMs) });
  const settle =
    <T>(resolve: (value: T) => void, reject: (err: ServiceError) => void) =>
    (err: ServiceError | null, value: T) =>
      err ? reject(err) : resolve(value);

  return {
    predict: (request, call) =>
      new Promise((resolve, reject) => {
        withoutCallerStack(() => client.predict(PredictRequest.fromPartial(request), new Metadata(), deadline(call), settle(resolve, reject)));
      }),
    listModels: (call) =>
      new Promise((resolve, reject) => {
        withoutCallerStack(() => client.listModels(ListModelsRequest.fromPartial({}), new Metadata(), deadline(call), settle(resolve, reject)));
      }),
    getModel: (request, call) =>
      new Promise((resolve, reject) => {
        withoutCallerStack(() => client.getModel(GetModelRequest.fromPartial(request), new Metadata(), deadline(call), settle(resolve, reject)));
      }),
    close: () => client.close(),
  };
}

/**
 * Starts a grpc-js call without the stack trace grpc-js captures for every call (`new Error()` in
 * `makeUnaryRequest`, appended to a failed call's message as "for call at …"). Inside async request
 * handlers V8 walks the async frames for it: ~40 µs of CPU per call in api-gateway, the largest single
 * item in its profile. Failed calls keep their code, details and metadata; their message just has no
 * caller stack, which the gateway never shows anyway (it maps codes to REST errors).
 */
function withoutCallerStack(start: () => void): void {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    start();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
