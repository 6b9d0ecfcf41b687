import { createHash } from 'node:crypto';
import { InMemoryBus } from '@pipeline/kafka';
import { ModelRegistryView, publishModel, RegistryError, withdrawModelVersions, type RegisteredModel } from './index';

const TOPIC = 'pipeline.ml.models';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** Deterministic bytes 0,1,…,250,0,1,… shifted by `seed`. */
const bytesOf = (n: number, seed = 0) => Uint8Array.from({ length: n }, (_, i) => (i + seed) % 251);

async function setup() {
  const bus = new InMemoryBus({ defaultPartitions: 3 });
  await bus.ensureTopics([{ topic: TOPIC, compacted: true }]);
  const invalid: string[] = [];
  const view = new ModelRegistryView(bus, { topic: TOPIC, groupPrefix: 'test-registry', onInvalid: (n, v, r) => invalid.push(`${n}/${v}: ${r}`) });
  const added: RegisteredModel[] = [];
  view.onAdded((m) => added.push(m));
  await view.start();
  return { bus, view, invalid, added };
}

describe('model registry on the compacted topic', () => {
  it('publishes chunks then the manifest, and the view reassembles the exact bytes', async () => {
    const { bus, view, added } = await setup();
    const bytes = bytesOf(512 * 1024 * 2 + 100);
    const manifest = await publishModel(bus, { topic: TOPIC, name: 'latency', version: 1, bytes, metadata: { type: 'random_forest' }, publishedAt: '2026-11-27T10:00:00.000Z' });
    expect(manifest).toEqual({ name: 'latency', version: 1, sha256: sha(bytes), size: 1048676, chunks: 3, chunkBytes: 524288, publishedAt: '2026-11-27T10:00:00.000Z', metadata: { type: 'random_forest' } });
    expect(bus.messages(TOPIC).map((m) => `${m.key}:${m.value.length}`).sort()).toEqual([
      'model/latency/1/chunk/0:524288',
      'model/latency/1/chunk/1:524288',
      'model/latency/1/chunk/2:100',
      `model/latency/1:${JSON.stringify(manifest).length}`,
    ]);
    await view.catchUp();
    expect(added.map((m) => m.manifest)).toEqual([manifest]);
    expect(Buffer.compare(view.get('latency')!.bytes, Buffer.from(bytes))).toBe(0);
    expect([view.get('latency')!.bytes.byteOffset, view.get('latency')!.bytes.buffer.byteLength]).toEqual([0, 1048676]);
    expect(view.get('latency', 1)!.manifest).toEqual(manifest);
    expect(view.get('latency', 2)).toBeUndefined();
    expect(view.get('other')).toBeUndefined();
    await view.stop();
  });

  it('holds a complete version once: its chunks become views of the assembled bytes, and a re-sent manifest still reassembles', async () => {
    const { bus, view, added } = await setup();
    const bytes = bytesOf(20, 3);
    await publishModel(bus, { topic: TOPIC, name: 'm', version: 1, bytes, metadata: {}, publishedAt: '2026-11-27T10:00:00.000Z', chunkBytes: 8 });
    await view.catchUp();
    const assembled = view.get('m', 1)!.bytes;
    const chunkBuffers = [0, 1, 2].map((i) => (view as unknown as { view: { get(k: string): { bytes: Buffer } } }).view.get(`model/m/1/chunk/${i}`).bytes);
    expect(chunkBuffers.map((b) => [b.buffer === assembled.buffer, b.byteOffset, b.length])).toEqual([
      [true, 0, 8],
      [true, 8, 8],
      [true, 16, 4],
    ]);
    // The manifest sent again (a later publishedAt): reassembled from those views, same bytes.
    const manifest = { ...view.get('m', 1)!.manifest, publishedAt: '2026-11-27T11:00:00.000Z' };
    await bus.publish({ topic: TOPIC, key: 'model/m/1', value: JSON.stringify(manifest) });
    await view.catchUp();
    expect(added.map((m) => [m.manifest.publishedAt, [...m.bytes]])).toEqual([
      ['2026-11-27T10:00:00.000Z', [...bytes]],
      ['2026-11-27T11:00:00.000Z', [...bytes]],
    ]);
    await view.stop();
  });

  it('keeps a version pending while its manifest has arrived but a chunk has not', async () => {
    const { bus, view, added } = await setup();
    const bytes = bytesOf(10);
    const manifest = { name: 'm', version: 1, sha256: sha(bytes), size: 10, chunks: 2, chunkBytes: 6, publishedAt: '2026-11-27T10:00:00.000Z', metadata: {} };
    await bus.publish({ topic: TOPIC, key: 'model/m/1', value: JSON.stringify(manifest) });
    await bus.publish({ topic: TOPIC, key: 'model/m/1/chunk/1', value: Buffer.from(bytes.subarray(6)) });
    await view.catchUp();
    expect([view.get('m'), added.length]).toEqual([undefined, 0]);
    await bus.publish({ topic: TOPIC, key: 'model/m/1/chunk/0', value: Buffer.from(bytes.subarray(0, 6)) });
    await view.catchUp();
    expect([...view.get('m')!.bytes]).toEqual([...bytes]);
    expect(added.map((m) => m.manifest.version)).toEqual([1]);
    await view.stop();
  });

  it('rejects chunks whose sha256 does not match the manifest, then accepts the right ones', async () => {
    const { bus, view, invalid } = await setup();
    const bytes = bytesOf(8);
    const manifest = { name: 'm', version: 2, sha256: sha(bytes), size: 8, chunks: 1, chunkBytes: 8, publishedAt: '2026-11-27T10:00:00.000Z', metadata: {} };
    const wrong = Buffer.from(bytesOf(8, 1));
    await bus.publish({ topic: TOPIC, key: 'model/m/2/chunk/0', value: wrong });
    await bus.publish({ topic: TOPIC, key: 'model/m/2', value: JSON.stringify(manifest) });
    await view.catchUp();
    expect(view.get('m', 2)).toBeUndefined();
    expect(invalid).toEqual([`m/2: sha256 of the assembled chunks is ${sha(wrong)}, manifest says ${sha(bytes)}`]);
    await bus.publish({ topic: TOPIC, key: 'model/m/2/chunk/0', value: Buffer.from(bytes) });
    await view.catchUp();
    expect([...view.get('m', 2)!.bytes]).toEqual([...bytes]);
    await view.stop();
  });

  it('reports a size mismatch naming both sizes', async () => {
    const { bus, view, invalid } = await setup();
    const manifest = { name: 'm', version: 1, sha256: 'x', size: 9, chunks: 1, chunkBytes: 9, publishedAt: '2026-11-27T10:00:00.000Z', metadata: {} };
    await bus.publish({ topic: TOPIC, key: 'model/m/1/chunk/0', value: Buffer.from([1, 2, 3]) });
    await bus.publish({ topic: TOPIC, key: 'model/m/1', value: JSON.stringify(manifest) });
    await view.catchUp();
    expect(invalid).toEqual(['m/1: assembled 3 bytes from 1 chunks, manifest says 9']);
    await view.stop();
  });

  it('gives max(any version seen)+1 as the next version, counting chunks of an unfinished publish', async () => {
    const { bus, view } = await setup();
    expect(view.nextVersion('m')).toBe(1);
    await publishModel(bus, { topic: TOPIC, name: 'm', version: 1, bytes: bytesOf(5), metadata: {}, publishedAt: '2026-11-27T10:00:00.000Z' });
    await publishModel(bus, { topic: TOPIC, name: 'm', version: 2, bytes: bytesOf(5, 3), metadata: {}, publishedAt: '2026-11-27T10:01:00.000Z' });
    await bus.publish({ topic: TOPIC, key: 'model/m/3/chunk/0', value: Buffer.from([1]) }); // crashed before its manifest
    await view.catchUp();
    expect([view.nextVersion('m'), view.nextVersion('other'), view.get('m')!.manifest.version]).toEqual([4, 1, 2]);
    expect(view.list().map((m) => `${m.manifest.name}/${m.manifest.version}`)).toEqual(['m/1', 'm/2']);
    await view.stop();
  });

  it('rebuilds every version in a new view (a restarted predictor) and withdraws a tombstoned manifest', async () => {
    const { bus, view } = await setup();
    await publishModel(bus, { topic: TOPIC, name: 'b', version: 1, bytes: bytesOf(3), metadata: { n: 1 }, publishedAt: '2026-11-27T10:00:00.000Z' });
    await publishModel(bus, { topic: TOPIC, name: 'a', version: 1, bytes: bytesOf(4), metadata: { n: 2 }, publishedAt: '2026-11-27T10:00:00.000Z', chunkBytes: 1 });
    await view.stop();
    const again = new ModelRegistryView(bus, { topic: TOPIC, groupPrefix: 'test-registry' });
    await again.start();
    await again.catchUp();
    expect(again.list().map((m) => [m.manifest.name, m.manifest.chunks, [...m.bytes]])).toEqual([
      ['a', 4, [0, 1, 2, 3]],
      ['b', 1, [0, 1, 2]],
    ]);
    await bus.publish({ topic: TOPIC, key: 'model/a/1', value: Buffer.alloc(0) });
    await again.catchUp();
    expect(again.list().map((m) => m.manifest.name)).toEqual(['b']);
    await again.stop();
  });

  it('refuses names that could break the key format, bad versions and empty models', async () => {
    const bus = new InMemoryBus();
    await bus.ensureTopics([{ topic: TOPIC }]);
    const base = { topic: TOPIC, name: 'ok', version: 1, bytes: bytesOf(1), metadata: {}, publishedAt: '2026-11-27T10:00:00.000Z' };
    await expect(publishModel(bus, { ...base, name: 'a/b' })).rejects.toThrow(
      new RegistryError('model name must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ (letters, digits, ".", "_", "-"; at most 128), got "a/b"'),
    );
    await expect(publishModel(bus, { ...base, version: 0 })).rejects.toThrow(new RegistryError('model version must be an integer in [1, 4294967295], got 0'));
    await expect(publishModel(bus, { ...base, bytes: new Uint8Array(0) })).rejects.toThrow(new RegistryError('model bytes must not be empty'));
    expect(bus.messages(TOPIC)).toEqual([]);
  });

  it('withdraws old versions: manifests and chunks are tombstoned, readers drop them, newer ones and nextVersion stay', async () => {
    const { bus, view } = await setup();
    for (let v = 1; v <= 4; v++) await publishModel(bus, { topic: TOPIC, name: 'm', version: v, bytes: bytesOf(20, v), metadata: {}, publishedAt: '2026-11-27T10:00:00.000Z', chunkBytes: 8 });
    await publishModel(bus, { topic: TOPIC, name: 'other', version: 1, bytes: bytesOf(5), metadata: {}, publishedAt: '2026-11-27T10:00:00.000Z' });
    // An abandoned publish of version 2 of another shape: one stray chunk, never completed.
    await bus.publish({ topic: TOPIC, key: 'model/m/2/chunk/7', value: Buffer.from('stray') });
    await view.catchUp();
    // A second reader (another predictor replica) that is told about withdrawals.
    const replica = new ModelRegistryView(bus, { topic: TOPIC, groupPrefix: 'test-replica' });
    const removed: string[] = [];
    replica.onRemoved((n, v) => removed.push(`${n}/${v}`));
    await replica.start();
    await replica.catchUp();
    expect(replica.list().map((m) => `${m.manifest.name}/${m.manifest.version}`)).toEqual(['m/1', 'm/2', 'm/3', 'm/4', 'other/1']);

    const batches: string[][] = [];
    const publishBatch = bus.publishBatch.bind(bus);
    jest.spyOn(bus, 'publishBatch').mockImplementation((msgs) => (batches.push(msgs.map((m) => `${m.key}=${m.value.length}`).sort()), publishBatch(msgs)));
    expect(await withdrawModelVersions(bus, view, { topic: TOPIC, name: 'm', olderThan: 3 })).toEqual([1, 2]);
    // Manifests first, then 3 + 3 chunks and the stray one, all empty (tombstones); nothing of
    // version 3, 4 or of "other".
    expect(batches).toEqual([
      ['model/m/1=0', 'model/m/2=0'],
      ['model/m/1/chunk/0=0', 'model/m/1/chunk/1=0', 'model/m/1/chunk/2=0', 'model/m/2/chunk/0=0', 'model/m/2/chunk/1=0', 'model/m/2/chunk/2=0', 'model/m/2/chunk/7=0'],
    ]);
    await replica.catchUp();
    expect(replica.list().map((m) => `${m.manifest.name}/${m.manifest.version}`)).toEqual(['m/3', 'm/4', 'other/1']);
    expect(removed.sort()).toEqual(['m/1', 'm/2']);
    expect(replica.keysOf('m').map((k) => k.version).every((v) => v >= 3)).toBe(true);
    expect(replica.nextVersion('m')).toBe(5);
    // A fresh reader (a restarted replica) never sees the withdrawn versions.
    const fresh = new ModelRegistryView(bus, { topic: TOPIC, groupPrefix: 'test-fresh' });
    const added: number[] = [];
    fresh.onAdded((m) => added.push(m.manifest.version));
    await fresh.start();
    await fresh.catchUp();
    expect(added.sort()).toEqual([1, 3, 4]); // m/3, m/4 and other/1
    expect(fresh.get('m', 1)).toBeUndefined();
    // Nothing older left: withdrawing again is a no-op.
    expect(await withdrawModelVersions(bus, view, { topic: TOPIC, name: 'm', olderThan: 3 })).toEqual([]);
    await Promise.all([view.stop(), replica.stop(), fresh.stop()]);
  });

  it('drops the bytes of chunks that complete no version after pendingChunkTtlMs, and a version whose chunks are sent again still completes', async () => {
    const bus = new InMemoryBus({ defaultPartitions: 3 });
    await bus.ensureTopics([{ topic: TOPIC, compacted: true }]);
    let clock = 1_000_000;
    const dropped: string[] = [];
    const view = new ModelRegistryView(bus, { topic: TOPIC, groupPrefix: 'test-ttl', pendingChunkTtlMs: 60_000, now: () => clock, onChunksDropped: (n, v, c, b) => dropped.push(`${n}/${v}: ${c} chunks, ${b} bytes`) });
    const added: string[] = [];
    view.onAdded((m) => added.push(`${m.manifest.name}/${m.manifest.version}`));
    await view.start();
    // A complete version (its chunks are pinned), and twelve orphan chunks of a version that never gets a manifest.
    await publishModel(bus, { topic: TOPIC, name: 'kept', version: 1, bytes: bytesOf(20), metadata: {}, publishedAt: '2026-11-27T10:00:00.000Z', chunkBytes: 8 });
    for (let i = 0; i < 12; i++) await bus.publish({ topic: TOPIC, key: `model/orphan/1/chunk/${i}`, value: Buffer.from(bytesOf(1000, i)) });
    await view.catchUp();
    expect(view.pendingChunkBytes()).toBe(12_000);
    clock += 59_999;
    view.dropExpiredChunks();
    expect([view.pendingChunkBytes(), dropped]).toEqual([12_000, []]);
    // A late chunk of a second pending version, read at t + 59,999 ms: it has its own minute.
    const late = bytesOf(10, 5);
    await bus.publish({ topic: TOPIC, key: 'model/late/1/chunk/0', value: Buffer.from(late) });
    await view.catchUp();
    clock += 1;
    view.dropExpiredChunks();
    expect([view.pendingChunkBytes(), dropped]).toEqual([10, ['orphan/1: 12 chunks, 12000 bytes']]);
    expect([...view.get('kept')!.bytes]).toEqual([...bytesOf(20)]);
    expect(view.keysOf('orphan')).toHaveLength(12); // the keys stay, so withdrawal still tombstones them
    // The orphan's manifest arrives after its chunks were dropped: the version stays pending until they are sent again.
    const orphan = Buffer.concat(Array.from({ length: 12 }, (_, i) => Buffer.from(bytesOf(1000, i))));
    await bus.publish({ topic: TOPIC, key: 'model/orphan/1', value: JSON.stringify({ name: 'orphan', version: 1, sha256: sha(orphan), size: 12_000, chunks: 12, chunkBytes: 1000, publishedAt: '2026-11-27T10:00:00.000Z', metadata: {} }) });
    await view.catchUp();
    expect(view.get('orphan')).toBeUndefined();
    for (let i = 0; i < 12; i++) await bus.publish({ topic: TOPIC, key: `model/orphan/1/chunk/${i}`, value: orphan.subarray(i * 1000, (i + 1) * 1000) });
    await view.catchUp();
    expect([added, view.get('orphan')!.bytes.length, view.pendingChunkBytes()]).toEqual([['kept/1', 'orphan/1'], 12_000, 10]);
    await view.stop();
  });
});
