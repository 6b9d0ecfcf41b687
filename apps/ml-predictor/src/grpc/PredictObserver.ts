/**
 * Called once per Predict / ModelInfer call with its wall time in seconds and whether it succeeded.
 * `model` is the resolved model name, or "unknown" when the request named no loaded model (so that
 * client-chosen names cannot grow a metric's label set without bound).
 */
export type PredictObserver = (model: string, api: 'ml.v1' | 'kserve', seconds: number, ok: boolean) => void;

/**
 * Runs `work` and reports it to `observe`. `work` receives `setModel` to record the resolved name.
 * An observer that throws is reported to `onObserverError` and never fails the call.
 */
export function observePredict<T>(
  observe: PredictObserver | undefined,
  api: 'ml.v1' | 'kserve',
  onObserverError: (err: unknown) => void,
  work: (setModel: (name: string) => void) => T,
): T {
  if (!observe) return work(() => undefined);
  let model = 'unknown';
  const start = process.hrtime.bigint();
  let ok = false;
  try {
    const result = work((name) => {
      model = name;
    });
    ok = true;
    return result;
  } finally {
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    try {
      observe(model, api, seconds, ok);
    } catch (err) {
      onObserverError(err);
    }
  }
}
