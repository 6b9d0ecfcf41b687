import { Counter, Histogram, type Registry } from 'prom-client';

/** Label for a model name the gateway has not seen served (unknown names, or beyond the cap): client text never becomes a series. */
export const OTHER_MODEL = 'other';

/** ml-predictor's buckets for pipeline_ml_prediction_duration_seconds (seconds), so both sides aggregate together. */
const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/**
 * `api="rest"` series of the prediction metrics, observed at the gateway's POST /pipeline/ml/predict:
 * the time from the validated request to the answer, which includes the gRPC call to ml-predictor
 * (whose own series are `api="ml.v1"` and `api="kserve"`, server-side). Requests refused at the door
 * (400) are not predictions and are not counted.
 *
 * The `model` label is the model's name once a prediction on it has succeeded here, for at most
 * `maxModels` names (ml-predictor serves at most ML_MAX_MODELS, default 100); every other call is
 * labelled `model="other"`, so made-up names cannot grow the exposition.
 */
export class RestPredictMetrics {
  private readonly duration: Histogram<'model' | 'api'>;
  private readonly errors: Counter<'model' | 'api'>;
  private readonly served = new Set<string>();

  constructor(registry: Registry, private readonly maxModels = 1_000) {
    this.duration = new Histogram({
      name: 'pipeline_ml_prediction_duration_seconds',
      help: 'Time of one REST predict call at the gateway, from the validated request to the answer (the gRPC call to ml-predictor included)',
      labelNames: ['model', 'api'],
      buckets: BUCKETS,
      registers: [registry],
    });
    this.errors = new Counter({ name: 'pipeline_ml_prediction_errors_total', help: 'REST predict calls that failed after validation (predictor refused, unavailable or timed out)', labelNames: ['model', 'api'], registers: [registry] });
    this.errors.inc({ model: OTHER_MODEL, api: 'rest' }, 0);
  }

  /** Starts timing one call; the returned function ends it (`ok` false = failed) with the name the call asked for. */
  start(): (model: string, ok: boolean) => void {
    const t0 = process.hrtime.bigint();
    return (model, ok) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (ok && !this.served.has(model) && this.served.size < this.maxModels) {
        this.served.add(model);
        this.errors.inc({ model, api: 'rest' }, 0);
      }
      const label = this.served.has(model) ? model : OTHER_MODEL;
      this.duration.observe({ model: label, api: 'rest' }, seconds);
      if (!ok) this.errors.inc({ model: label, api: 'rest' });
    };
  }
}
