import { credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import {
  GetModelRequest,
  type GetModelResponse,
  ListModelsRequest,
  type ListModelsResponse,
  PredictorServiceClient,
  PredictRequest,
  type PredictResponse,
} from './gen/ml/v1/predictor';

/** Per-call options. */
export interface PredictorCallOptions {
  /** Deadline for this call in milliseconds from now; overrides `defaultTimeoutMs`. */
  timeoutMs?: number;
}

/** Options for {@link createPredictorClient}. */
export interface PredictorClientOptions {
  /** Deadline applied to every call without its own `timeoutMs`, in milliseconds. Default 1000. */
  defaultTimeoutMs?: number;
  /** Channel credentials. Default: insecure (plaintext), for in-cluster traffic. */
  credentials?: ChannelCredentials;
  /** Largest response accepted, in bytes. Default: grpc-js default (4 MiB). */
  maxReceiveMessageBytes?: number;
}

/**
 * Promise client for ml.v1.PredictorService. A rejected call carries the grpc-js `ServiceError`
 * (`code` is a `status` value: NOT_FOUND, INVALID_ARGUMENT, DEADLINE_EXCEEDED, ...).
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
  // channelz (grpc-js's introspection registry) is not served by anything here, and it costs a
  // timestamp and counter updates on every call.
  const channelOptions = {
    'grpc.enable_channelz': 0,
    ...(options.maxReceiveMessageBytes === undefined ? {} : { 'grpc.max_receive_message_length': options.maxReceiveMessageBytes }),
  };
  const client = new PredictorServiceClient(address, options.credentials ?? credentials.createInsecure(), channelOptions);
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
