import { createPredictor, decodeModel, encodeModel, trainModel, type TrainedModel } from '@pipeline/ml';
import type { RegisteredModel } from '@pipeline/model-registry';
import type { ModelDecoder } from './ModelDecoder';
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
/** A decoder that finishes decode number i only when the test calls `gates[i]()`, in any order. */
function gatedDecoder(): { decoder: ModelDecoder; gates: Array<() => void> } {
  const gates: Array<() => void> = [];
  const decoder: ModelDecoder = {
    decode: (bytes) => new Promise((resolve) => gates.push(() => resolve({ model: decodeModel(bytes), thread: 'worker' }))),
    close: async () => undefined,
  };
  return { decoder, gates };
}
const predict1 = (c: RegistryCatalog, name: string, a: number, version?: number) => c.get(name, version)!.predict(Float64Array.of(a), 1)[0]!;

describe('RegistryCatalog', () => {
  it('serves the latest version, predicting exactly what an in-process predictor of the same model does', async () => {
    const c = new RegistryCatalog({ maxVersionsPerModel: 3 });
    const v1 = model('m', 1, 2);
    await c.load(registered(v1));
    expect(c.isReady()).toBe(false);
    c.markReady();
    expect([c.isReady(), c.get('m')!.version, predict1(c, 'm', 4)]).toEqual([true, 1, createPredictor(v1).predictRow([4])]);
    expect(c.get('m')).toMatchObject({ name: 'm', version: 1, type: 'linear_regression', featureKeys: ['a'], trainedAt: '2026-11-27T10:01:00.000Z', metrics: v1.metrics });
    expect([c.get('nope'), c.get('m', 2)]).toEqual([undefined, undefined]);
  });

  it('hot-swaps atomically: a request that resolved v1 keeps v1, the next one gets v2', async () => {
    const c = new RegistryCatalog({ maxVersionsPerModel: 3 });
    await c.load(registered(model('m', 1, 2)));
    const inFlight = c.get('m')!;
    const loading = c.load(registered(model('m', 2, 10)));
    expect(c.get('m')!.version).toBe(1); // v1 keeps serving until v2 is decoded
    await loading;
    expect([inFlight.version, inFlight.predict(Float64Array.of(3), 1)[0]]).toEqual([1, expect.closeTo(7, 9)]);
    expect([c.get('m')!.version, predict1(c, 'm', 3), predict1(c, 'm', 3, 1)]).toEqual([2, expect.closeTo(31, 9), expect.closeTo(7, 9)]);
  });

  it('keeps only the newest maxVersionsPerModel versions, whatever order they load in', async () => {
    const loaded: string[] = [];
    const c = new RegistryCatalog({ maxVersionsPerModel: 2, onLoaded: (m) => loaded.push(`${m.name}/${m.version}`) });
    for (const v of [3, 1, 2, 4]) void c.load(registered(model('m', v, v)));
    await c.settled();
    expect(c.list().map((m) => m.version).sort()).toEqual([3, 4]);
    expect(loaded).toEqual(['m/3', 'm/1', 'm/2', 'm/4']);
  });

  it('reports a version that does not decode or does not match its registry key, and keeps serving the others', async () => {
    const errors: string[] = [];
    const c = new RegistryCatalog({ maxVersionsPerModel: 3, onLoadError: (n, v, e) => errors.push(`${n}/${v}: ${e.message}`) });
    void c.load(registered(model('m', 1, 2)));
    void c.load({ ...registered(model('m', 1, 2)), manifest: { ...registered(model('m', 1, 2)).manifest, version: 2 } });
    await c.load({ manifest: registered(model('m', 1, 2), 'm', 3).manifest, bytes: Uint8Array.of(1, 2, 3) });
    expect(errors).toEqual([
      'm/2: model file says m version 1, registry key says m version 2',
      'm/3: model file truncated: 3 bytes is shorter than the 12-byte preamble',
    ]);
    expect(c.get('m')!.version).toBe(1);
  });

  it('installs versions in the order they were loaded even when a later one decodes first', async () => {
    const { decoder, gates } = gatedDecoder();
    const loaded: string[] = [];
    const c = new RegistryCatalog({ maxVersionsPerModel: 3, decoder, onLoaded: (m, info) => loaded.push(`${m.version}:${info.thread}`) });
    void c.load(registered(model('m', 1, 1)));
    void c.load(registered(model('m', 2, 2)));
    gates[1]!();
    await new Promise((r) => setImmediate(r));
    expect(loaded).toEqual([]); // v2 is decoded but waits for v1
    gates[0]!();
    await c.settled();
    expect(loaded).toEqual(['1:worker', '2:worker']);
    expect(c.get('m')!.version).toBe(2);
  });

  it('keeps loading later versions after a callback throws', async () => {
    const c = new RegistryCatalog({
      maxVersionsPerModel: 3,
      onLoaded: (m) => {
        if (m.version === 1) throw new Error('listener bug');
      },
      onUnloaded: () => {
        throw new Error('listener bug');
      },
    });
    void c.load(registered(model('m', 1, 1)));
    await c.load(registered(model('m', 2, 2)));
    expect(c.list().map((m) => m.version).sort()).toEqual([1, 2]);
    void c.unload('m', 1);
    await c.load(registered(model('m', 3, 3)));
    expect(c.list().map((m) => m.version).sort()).toEqual([2, 3]);
  });

  it('unloads a withdrawn version, after an earlier load of it has finished', async () => {
    const { decoder, gates } = gatedDecoder();
    const unloaded: string[] = [];
    const c = new RegistryCatalog({ maxVersionsPerModel: 3, decoder, onUnloaded: (n, v) => unloaded.push(`${n}/${v}`) });
    void c.load(registered(model('m', 1, 1)));
    void c.load(registered(model('m', 2, 2)));
    const unloading = c.unload('m', 1); // withdrawn while still decoding
    gates[0]!();
    gates[1]!();
    await unloading;
    expect([c.list().map((m) => m.version), unloaded]).toEqual([[2], ['m/1']]);
    await c.unload('m', 2);
    await c.unload('m', 7); // unknown: nothing happens
    expect([c.get('m'), c.list(), unloaded]).toEqual([undefined, [], ['m/1', 'm/2']]);
  });

  it('serves at most maxModels names: a version of a further name is refused before decoding, and a withdrawn name frees its place', async () => {
    const refused: string[] = [];
    let decoded = 0;
    const inline: ModelDecoder = { decode: async (bytes) => (decoded++, { model: decodeModel(bytes), thread: 'main' }), close: async () => undefined };
    const c = new RegistryCatalog({ maxVersionsPerModel: 3, maxModels: 2, decoder: inline, onRefused: (n, v, r) => refused.push(`${n}/${v}: ${r}`) });
    await c.load(registered(model('a', 1, 1)));
    await c.load(registered(model('b', 1, 2)));
    await c.load(registered(model('c', 1, 3)));
    await c.load(registered(model('a', 2, 4))); // a new version of a served name is not a new name
    expect([c.list().map((m) => `${m.name}/${m.version}`).sort(), refused, decoded]).toEqual([['a/1', 'a/2', 'b/1'], ['c/1: model_cap'], 3]);
    // Two names decoding at once with one place left: the second to finish is refused at install.
    await c.unload('b', 1);
    void c.load(registered(model('d', 1, 5)));
    await c.load(registered(model('e', 1, 6)));
    expect([c.list().map((m) => `${m.name}/${m.version}`).sort(), refused]).toEqual([['a/1', 'a/2', 'd/1'], ['c/1: model_cap', 'e/1: model_cap']]);
  });
});
