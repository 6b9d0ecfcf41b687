import { credentials, type CallOptions, type Client, Metadata, type ServiceError } from '@grpc/grpc-js';
import { createGrpcServer, type GrpcServer, type GrpcServerOptions } from '../createGrpcServer';
import type { ModelCatalog, ServableModel } from '../ModelCatalog';

/** A linear model y = bias + Σ w[f]·x[f], the real thing for these tests. */
export function linearModel(name: string, version: number, bias: number, weights: number[]): ServableModel {
  return {
    name,
    version,
    type: 'linear_regression',
    featureKeys: weights.map((_, i) => `x${i}`),
    trainedAt: `2026-01-0${version}T00:00:00.000Z`,
    metrics: { rmse: 0.5 / version, r2: 0.9 },
    featureImportances: Object.fromEntries(weights.map((w, i) => [`x${i}`, Math.abs(w)])),
    predict(x, nRows) {
      const out = new Float64Array(nRows);
      for (let r = 0; r < nRows; r++) {
        let y = bias;
        for (let f = 0; f < weights.length; f++) y += weights[f] * x[r * weights.length + f];
        out[r] = y;
      }
      return out;
    },
  };
}

/** In-memory catalog; `ready` can be flipped by tests. */
export class TestCatalog implements ModelCatalog {
  ready = true;
  constructor(readonly models: ServableModel[]) {}
  get(name: string, version?: number): ServableModel | undefined {
    const matching = this.models.filter((m) => m.name === name && (version === undefined || m.version === version));
    return matching.sort((a, b) => b.version - a.version)[0];
  }
  list(): ServableModel[] {
    return [...this.models];
  }
  isReady(): boolean {
    return this.ready;
  }
}

/** y = 1 + 2·x0 − 3·x1 + 0.5·x2 (version 1) and y = 10 + x0 + x1 + x2 (version 2, latest). */
export const LINEAR_V1 = linearModel('linear', 1, 1, [2, -3, 0.5]);
export const LINEAR_V2 = linearModel('linear', 2, 10, [1, 1, 1]);

export interface Harness {
  grpc: GrpcServer;
  catalog: TestCatalog;
  address: string;
  errors: { err: unknown; method: string }[];
  predictions: { model: string; api: string; ok: boolean }[];
  close(): Promise<void>;
}

/** Starts a real server on 127.0.0.1 with a free port. */
export async function startHarness(extra: Partial<GrpcServerOptions> & { models?: ServableModel[] } = {}): Promise<Harness> {
  const catalog = new TestCatalog(extra.models ?? [LINEAR_V1, LINEAR_V2]);
  const errors: Harness['errors'] = [];
  const predictions: Harness['predictions'] = [];
  const grpc = createGrpcServer({
    catalog,
    log: (err, method) => errors.push({ err, method }),
    onPredict: (model, api, seconds, ok) => {
      if (!(seconds >= 0)) throw new Error(`bad seconds ${seconds}`);
      predictions.push({ model, api, ok });
    },
    ...extra,
  });
  const port = await grpc.start('127.0.0.1', 0);
  return { grpc, catalog, address: `127.0.0.1:${port}`, errors, predictions, close: () => grpc.stop(100) };
}

/** Creates a plaintext generated client. */
export function connect<C extends Client>(Ctor: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => C, address: string): C {
  return new Ctor(address, credentials.createInsecure());
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (err: ServiceError | null, res: Res) => void,
) => unknown;

/** Calls a generated unary method as a promise; `deadlineMs` is relative to now (may be negative). */
export function call<Req, Res>(client: Client, method: UnaryMethod<Req, Res>, request: Req, deadlineMs = 2000): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, request, new Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** The `{code, details}` of a rejected call, for whole-value assertions. */
export async function failure(promise: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as ServiceError;
    return { code: e.code, details: e.details };
  }
  throw new Error('expected the call to fail');
}
