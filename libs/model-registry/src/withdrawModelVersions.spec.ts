import { createHash, generateKeyPairSync } from 'node:crypto';
import { InMemoryBus } from '@pipeline/kafka';
import { ModelRegistryView, SIGNATURE_HEADER, keyIdOf, parseVerifyKeys, publishModel, signManifest, signWithdrawal, withdrawModelVersions, withdrawalValue } from './index';

const TOPIC = 'pipeline.ml.models';
const trainer = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');
const bytesOf = (n: number, seed = 0) => Uint8Array.from({ length: n }, (_, i) => (i + seed) % 251);
const at = '2026-12-07T10:00:00.000Z';
const trusted = () => parseVerifyKeys(String(trainer.publicKey.export({ type: 'spki', format: 'pem' })), 'ML_VERIFY_KEYS_FILE');

async function newBus() {
  const bus = new InMemoryBus({ defaultPartitions: 3 });
  await bus.ensureTopics([{ topic: TOPIC, compacted: true }]);
  return bus;
}

/** A reader of the topic like a predictor's (signatures checked unless `verify` is false), recording refusals and withdrawals. */
async function reader(bus: InMemoryBus, group: string, verify = true) {
  const rejected: string[] = [];
  const removed: string[] = [];
  const view = new ModelRegistryView(bus, {
    topic: TOPIC,
    groupPrefix: group,
    ...(verify ? { verifyKeys: trusted() } : {}),
    onRejected: (n, v, reason, signer) => rejected.push(`${n}/${v}: ${reason}${signer ? ` (${signer})` : ''}`),
  });
  view.onRemoved((n, v) => removed.push(`${n}/${v}`));
  await view.start();
  await view.catchUp();
  return { view, rejected, removed, served: () => view.list().map((m) => `${m.manifest.name}/${m.manifest.version}`) };
}

const publish = (bus: InMemoryBus, name: string, version: number, opts: { signed?: boolean; chunkBytes?: number } = {}) =>
  publishModel(bus, { topic: TOPIC, name, version, bytes: bytesOf(20, version), metadata: {}, publishedAt: at, chunkBytes: opts.chunkBytes ?? 8, ...(opts.signed === false ? {} : { signingKey: trainer.privateKey }) });

describe('signed withdrawals', () => {
  it('retention writes a signed withdrawal on each manifest key, then the tombstones; a verifying reader withdraws those versions, live and replaying', async () => {
    const bus = await newBus();
    for (let v = 1; v <= 3; v++) await publish(bus, 'm', v);
    const trainerView = new ModelRegistryView(bus, { topic: TOPIC, groupPrefix: 'trainer' });
    await trainerView.start();
    await trainerView.catchUp();
    const live = await reader(bus, 'live');
    expect(live.served()).toEqual(['m/1', 'm/2', 'm/3']);

    const batches: string[][] = [];
    const publishBatch = bus.publishBatch.bind(bus);
    jest.spyOn(bus, 'publishBatch').mockImplementation((msgs) => (batches.push(msgs.map((m) => `${m.key}=${String(m.value)}${m.headers?.[SIGNATURE_HEADER] ? ' signed' : ''}`).sort()), publishBatch(msgs)));
    expect(await withdrawModelVersions(bus, trainerView, { topic: TOPIC, name: 'm', olderThan: 3, signingKey: trainer.privateKey })).toEqual([1, 2]);
    expect(batches).toEqual([
      ['model/m/1={"withdrawn":true,"name":"m","version":1} signed', 'model/m/2={"withdrawn":true,"name":"m","version":2} signed'],
      ['model/m/1=', 'model/m/2='],
      ['model/m/1/chunk/0=', 'model/m/1/chunk/1=', 'model/m/1/chunk/2=', 'model/m/2/chunk/0=', 'model/m/2/chunk/1=', 'model/m/2/chunk/2='],
    ]);
    const withdrawal = bus.messages(TOPIC).find((m) => m.key === 'model/m/1' && m.value.length > 0 && m.value.toString().includes('withdrawn'))!;
    expect(withdrawal.headers[SIGNATURE_HEADER]).toBe(signWithdrawal(withdrawalValue('m', 1), trainer.privateKey));

    await live.view.catchUp();
    // The tombstones that follow each signed withdrawal are accepted: nothing refused.
    expect([live.served(), live.removed.sort(), live.rejected]).toEqual([['m/3'], ['m/1', 'm/2'], []]);
    expect(live.view.keysOf('m').map((k) => k.key).sort()).toEqual(['model/m/3', 'model/m/3/chunk/0', 'model/m/3/chunk/1', 'model/m/3/chunk/2']);
    const replay = await reader(bus, 'replay');
    expect([replay.served(), replay.rejected]).toEqual([['m/3'], []]);
    await Promise.all([trainerView.stop(), live.view.stop(), replay.view.stop()]);
  });

  it('ignores a bare tombstone on the manifest key of a served signed version, reports it once as unsigned_withdrawal, and the trainer can still withdraw it', async () => {
    const bus = await newBus();
    await publish(bus, 'm', 1);
    await publish(bus, 'm', 2);
    const live = await reader(bus, 'live');
    await bus.publish({ topic: TOPIC, key: 'model/m/2', value: '' });
    await live.view.catchUp();
    expect([live.served(), live.removed, live.rejected]).toEqual([['m/1', 'm/2'], [], ['m/2: unsigned_withdrawal']]);
    expect([...live.view.get('m')!.bytes]).toEqual([...bytesOf(20, 2)]);
    // A reader replaying the topic meets the same forged tombstone after the manifest: same outcome.
    const replay = await reader(bus, 'replay');
    expect([replay.served(), replay.rejected]).toEqual([['m/1', 'm/2'], ['m/2: unsigned_withdrawal']]);
    // Retention by the trainer (signed) still withdraws version 1.
    await withdrawModelVersions(bus, live.view, { topic: TOPIC, name: 'm', olderThan: 2, signingKey: trainer.privateKey });
    await Promise.all([live.view.catchUp(), replay.view.catchUp()]);
    expect([live.served(), live.removed, live.rejected]).toEqual([['m/2'], ['m/1'], ['m/2: unsigned_withdrawal']]);
    expect([replay.served(), replay.removed]).toEqual([['m/2'], ['m/1']]);
    await Promise.all([live.view.stop(), replay.view.stop()]);
  });

  it('withdraws a version whose manifest the trainer\'s own (unverified) view lost to a forged tombstone, from the predictors that kept serving it', async () => {
    const bus = await newBus();
    await publish(bus, 'm', 1);
    await publish(bus, 'm', 2);
    const trainerView = new ModelRegistryView(bus, { topic: TOPIC, groupPrefix: 'trainer' });
    await trainerView.start();
    const live = await reader(bus, 'live');
    await bus.publish({ topic: TOPIC, key: 'model/m/1', value: '' });
    await Promise.all([trainerView.catchUp(), live.view.catchUp()]);
    expect([trainerView.keysOf('m').some((k) => k.key === 'model/m/1'), live.served(), live.rejected]).toEqual([false, ['m/1', 'm/2'], ['m/1: unsigned_withdrawal']]);
    expect(await withdrawModelVersions(bus, trainerView, { topic: TOPIC, name: 'm', olderThan: 2, signingKey: trainer.privateKey })).toEqual([1]);
    await live.view.catchUp();
    expect([live.served(), live.removed, live.rejected]).toEqual([['m/2'], ['m/1'], ['m/1: unsigned_withdrawal']]);
    await Promise.all([trainerView.stop(), live.view.stop()]);
  });

  it('ignores a bare tombstone of a signed manifest whose chunks are not read yet (a replaying reader may meet them in that order), so the version still completes', async () => {
    const bus = await newBus();
    const bytes = bytesOf(20, 4);
    const manifest = JSON.stringify({ name: 'm', version: 1, sha256: createHash('sha256').update(bytes).digest('hex'), size: 20, chunks: 1, chunkBytes: 20, publishedAt: at, metadata: {} });
    const live = await reader(bus, 'live');
    await bus.publish({ topic: TOPIC, key: 'model/m/1', value: manifest, headers: { [SIGNATURE_HEADER]: signManifest(manifest, trainer.privateKey) } });
    await bus.publish({ topic: TOPIC, key: 'model/m/1', value: '' });
    await live.view.catchUp();
    expect([live.served(), live.rejected]).toEqual([[], ['m/1: unsigned_withdrawal']]);
    await bus.publish({ topic: TOPIC, key: 'model/m/1/chunk/0', value: Buffer.from(bytes) });
    await live.view.catchUp();
    expect(live.served()).toEqual(['m/1']);
    await live.view.stop();
  });

  it('withdraws on no record but the trainer\'s signed withdrawal of that version: unsigned and untrusted ones are refused, a manifest signature does not pass as a withdrawal\'s nor the reverse', async () => {
    const bus = await newBus();
    await publish(bus, 'm', 1);
    const live = await reader(bus, 'live');
    const value = withdrawalValue('m', 1);
    await bus.publish({ topic: TOPIC, key: 'model/m/1', value });
    await bus.publish({ topic: TOPIC, key: 'model/m/1', value, headers: { [SIGNATURE_HEADER]: signWithdrawal(value, stranger.privateKey) } });
    // The trainer's key, but the manifest domain: it verifies as a manifest, and is not one, so it is not applied.
    await bus.publish({ topic: TOPIC, key: 'model/m/1', value, headers: { [SIGNATURE_HEADER]: signManifest(value, trainer.privateKey) } });
    // A manifest of forged bytes signed in the withdrawal domain: it verifies as a withdrawal, is not one, and never becomes a version.
    const forged = bytesOf(20, 99);
    const manifest = JSON.stringify({ name: 'm', version: 2, sha256: createHash('sha256').update(forged).digest('hex'), size: 20, chunks: 1, chunkBytes: 20, publishedAt: at, metadata: {} });
    await bus.publish({ topic: TOPIC, key: 'model/m/2/chunk/0', value: Buffer.from(forged) });
    await bus.publish({ topic: TOPIC, key: 'model/m/2', value: manifest, headers: { [SIGNATURE_HEADER]: signWithdrawal(manifest, trainer.privateKey) } });
    await live.view.catchUp();
    const k = (key: { publicKey: Parameters<typeof keyIdOf>[0] }) => keyIdOf(key.publicKey);
    expect([live.served(), live.removed, live.rejected]).toEqual([['m/1'], [], ['m/1: unsigned', `m/1: unknown_key (${k(stranger)})`]]);
    expect(live.view.get('m', 2)).toBeUndefined();
    // The trainer's signed withdrawal of version 2 copied onto version 1's key names another version: ignored.
    await bus.publish({ topic: TOPIC, key: 'model/m/1', value: withdrawalValue('m', 2), headers: { [SIGNATURE_HEADER]: signWithdrawal(withdrawalValue('m', 2), trainer.privateKey) } });
    await live.view.catchUp();
    expect([live.served(), live.removed]).toEqual([['m/1'], []]);
    await live.view.stop();
  });

  it('leaves a running reader serving on tombstones of chunk keys and of versions that never completed', async () => {
    const bus = await newBus();
    await publish(bus, 'm', 1);
    // Chunks of a publish that never wrote its manifest.
    await bus.publish({ topic: TOPIC, key: 'model/m/2/chunk/0', value: Buffer.from('stray') });
    const live = await reader(bus, 'live');
    await bus.publish({ topic: TOPIC, key: 'model/m/1/chunk/1', value: '' });
    await bus.publish({ topic: TOPIC, key: 'model/m/2/chunk/0', value: '' });
    await live.view.catchUp();
    expect([live.served(), live.removed, live.rejected]).toEqual([['m/1'], [], []]);
    expect([...live.view.get('m', 1)!.bytes]).toEqual([...bytesOf(20, 1)]);
    expect(live.view.keysOf('m').map((k) => k.key).sort()).toEqual(['model/m/1', 'model/m/1/chunk/0', 'model/m/1/chunk/2']);
    await live.view.stop();
  });

  it('without verify keys keeps the unsigned behaviour: a bare tombstone withdraws, and so does a withdrawal record', async () => {
    const bus = await newBus();
    for (let v = 1; v <= 3; v++) await publish(bus, 'm', v, { signed: false });
    const open = await reader(bus, 'open', false);
    await bus.publish({ topic: TOPIC, key: 'model/m/3', value: '' });
    await bus.publish({ topic: TOPIC, key: 'model/m/2', value: withdrawalValue('m', 2) });
    await open.view.catchUp();
    expect([open.served(), open.removed.sort(), open.rejected]).toEqual([['m/1'], ['m/2', 'm/3'], []]);
    // Retention without a signing key writes tombstones only, as before.
    const batches: number[] = [];
    const publishBatch = bus.publishBatch.bind(bus);
    jest.spyOn(bus, 'publishBatch').mockImplementation((msgs) => (batches.push(msgs.filter((m) => String(m.value) !== '').length), publishBatch(msgs)));
    expect(await withdrawModelVersions(bus, open.view, { topic: TOPIC, name: 'm', olderThan: 2 })).toEqual([1]);
    expect(batches).toEqual([0, 0]);
    await open.view.catchUp();
    expect(open.served()).toEqual([]);
    await open.view.stop();
  });
});
