import { createPredictor, encodeModel, trainModel, type TrainedModel } from '@pipeline/ml';
import type { RegisteredModel } from '@pipeline/model-registry';
import { RegistryCatalog } from './RegistryCatalog';

/** y = slope·a + 1 exactly; a linear regression recovers it. */
function model(name: string, version: number, slope: number): TrainedModel {
  const rows = Array.from({ length: 20 }, (_, i) => ({ a: i, y: slope * i + 1 }));
  return trainModel({ modelName: name, modelType: 'linear_regression', featureKeys: ['a'], targetKey: 'y', rows, version, trainedAt: `2026-11-27T10:0${version}:00.000Z`, params: { testFraction: 0 } });
}
const registered = (m: TrainedModel, name = m.name, version = m.version): RegisteredModel => ({
  manifest: { name, version, sha256: '', size: 0, chunks: 1, chunkBytes: 0, publishedAt: '', metadata: {} },
  bytes: encodeModel(m),
});
const predict1 = (c: RegistryCatalog, name: string, a: number, version?: number) => c.get(name, version)!.predict(Float64Array.of(a), 1)[0]!;

describe('RegistryCatalog', () => {
  it('serves the latest version, predicting exactly what an in-process predictor of the same model does', () => {
    const c = new RegistryCatalog({ maxVersionsPerModel: 3 });
    const v1 = model('m', 1, 2);
    c.load(registered(v1));
    expect(c.isReady()).toBe(false);
    c.markReady();
    expect([c.isReady(), c.get('m')!.version, predict1(c, 'm', 4)]).toEqual([true, 1, createPredictor(v1).predictRow([4])]);
    expect(c.get('m')).toMatchObject({ name: 'm', version: 1, type: 'linear_regression', featureKeys: ['a'], trainedAt: '2026-11-27T10:01:00.000Z', metrics: v1.metrics });
    expect([c.get('nope'), c.get('m', 2)]).toEqual([undefined, undefined]);
  });

  it('hot-swaps atomically: a request that resolved v1 keeps v1, the next one gets v2', () => {
    const c = new RegistryCatalog({ maxVersionsPerModel: 3 });
    c.load(registered(model('m', 1, 2)));
    const inFlight = c.get('m')!;
    c.load(registered(model('m', 2, 10)));
    expect([inFlight.version, inFlight.predict(Float64Array.of(3), 1)[0]]).toEqual([1, expect.closeTo(7, 9)]);
    expect([c.get('m')!.version, predict1(c, 'm', 3), predict1(c, 'm', 3, 1)]).toEqual([2, expect.closeTo(31, 9), expect.closeTo(7, 9)]);
  });

  it('keeps only the newest maxVersionsPerModel versions, whatever order they load in', () => {
    const loaded: string[] = [];
    const c = new RegistryCatalog({ maxVersionsPerModel: 2, onLoaded: (m) => loaded.push(`${m.name}/${m.version}`) });
    for (const v of [3, 1, 2, 4]) c.load(registered(model('m', v, v)));
    expect(c.list().map((m) => m.version).sort()).toEqual([3, 4]);
    expect(loaded).toEqual(['m/3', 'm/1', 'm/2', 'm/4']);
  });

  it('reports a version that does not decode or does not match its registry key, and keeps serving the others', () => {
    const errors: string[] = [];
    const c = new RegistryCatalog({ maxVersionsPerModel: 3, onLoadError: (n, v, e) => errors.push(`${n}/${v}: ${e.message}`) });
    c.load(registered(model('m', 1, 2)));
    c.load({ ...registered(model('m', 1, 2)), manifest: { ...registered(model('m', 1, 2)).manifest, version: 2 } });
    c.load({ manifest: registered(model('m', 1, 2), 'm', 3).manifest, bytes: Uint8Array.of(1, 2, 3) });
    expect(errors).toEqual([
      'm/2: model file says m version 1, registry key says m version 2',
      'm/3: model file truncated: 3 bytes is shorter than the 12-byte preamble',
    ]);
    expect(c.get('m')!.version).toBe(1);
  });
});
