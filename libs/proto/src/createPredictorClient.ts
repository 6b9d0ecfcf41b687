import { credentials as grpcCredentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { GetModelRequest, ListModelsRequest, PredictorServiceClient, PredictRequest, type GetModelResponse, type ListModelsResponse, type PredictResponse } from './gen/ml/v1/predictor';

/** Per-call options. */
export interface PredictorCallOptions {
  /** Deadline for this call in milliseconds from now; overrides `defaultTimeoutMs`. */
  timeoutMs?: number;
}

/** Options for {@link createPredictorClient}. */
export interface PredictorClientOptions {
  /** Deadline applied to every call without its own `timeoutMs`, in milliseconds. Default 1000. */
  defaultTimeoutMs?: number;
  /** Channel credentials (e.g. TLS). Default: plaintext (h2c), for in-cluster traffic. */
  credentials?: ChannelCredentials;
  /** Largest response accepted, in bytes; a larger one fails with RESOURCE_EXHAUSTED. Default 4 MiB. */
  maxReceiveMessageBytes?: number;
  /** Internal service token sent with every call (`authorization: Bearer <token>`); the predictor requires it when INTERNAL_TOKEN_FILE is set. */
  token?: string;
}

/**
 * Promise client for ml.v1.PredictorService. A rejected call carries grpc-js's `ServiceError` (`code`
 * is a `status` value: NOT_FOUND, INVALID_ARGUMENT, DEADLINE_EXCEEDED, UNAVAILABLE, ...; `details`
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
 * Creates a {@link PredictorClient} for `address` ("host:port") over one grpc-js channel (the
 * generated `PredictorServiceClient`). Create it once and share it: the channel multiplexes concurrent
 * calls over one HTTP/2 connection and reconnects by itself after the server restarts.
 *
 * @example
 *   const client = createPredictorClient('ml-predictor:50051', { defaultTimeoutMs: 200 });
 *   const { predictions } = await client.predict({ modelName: 'session-duration', values: [1, 2, 3], nFeatures: 3 });
 */
export function createPredictorClient(address: string, options: PredictorClientOptions = {}): PredictorClient {
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 1000;
  const client = new PredictorServiceClient(address, options.credentials ?? grpcCredentials.createInsecure(), {
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes ?? 4 * 1024 * 1024,
    // While the server is unreachable, calls fail at once with UNAVAILABLE and the channel retries the
    // connection after a backoff; grpc-js lets that grow to 120 s, so a predictor back after a long
    // outage could wait that long for its first call. Capped at 1 s, the Retry-After the gateway sends.
    'grpc.max_reconnect_backoff_ms': 1000,
    'grpc.enable_channelz': 0, // as on the server: nothing here reads channelz, and it counts every call
  });
  const metadata = () => {
    const m = new Metadata();
    if (options.token !== undefined) m.set('authorization', `Bearer ${options.token}`);
    return m;
  };
  const callOptions = (call?: PredictorCallOptions) => ({ deadline: Date.now() + (call?.timeoutMs ?? defaultTimeoutMs) });
  const settle =
    <T>(resolve: (value: T) => void, reject: (err: ServiceError) => void) =>
    (err: ServiceError | null, value: T) =>
      err ? reject(err) : resolve(value);

  return {
    predict: (request, call) =>
      new Promise((resolve, reject) => {
        client.predict(PredictRequest.fromPartial(request), metadata(), callOptions(call), settle(resolve, reject));
      }),
    listModels: (call) =>
      new Promise((resolve, reject) => {
        client.listModels(ListModelsRequest.fromPartial({}), metadata(), callOptions(call), settle(resolve, reject));
      }),
    getModel: (request, call) =>
      new Promise((resolve, reject) => {
        client.getModel(GetModelRequest.fromPartial(request), metadata(), callOptions(call), settle(resolve, reject));
      }),
    close: () => client.close(),
  };
}
