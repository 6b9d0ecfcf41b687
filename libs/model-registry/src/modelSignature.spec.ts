import { createHash, generateKeyPairSync } from 'node:crypto';
import { InMemoryBus } from '@pipeline/kafka';
import { ModelRegistryView, RegistryError, SIGNATURE_HEADER, keyIdOf, parseSigningKey, parseVerifyKeys, publishModel, signManifest } from './index';

const TOPIC = 'pipeline.ml.models';
const pem = (k: { export(o: { type: 'spki' | 'pkcs8'; format: 'pem' }): string | Buffer }, type: 'spki' | 'pkcs8') => String(k.export({ type, format: 'pem' }));
const trainer = generateKeyPairSync('ed25519');
const next = generateKeyPairSync('ed25519'); // the key a rotation moves to
const stranger = generateKeyPairSync('ed25519');
const bytesOf = (n: number, seed = 0) => Uint8Array.from({ length: n }, (_, i) => (i + seed) % 251);
const at = '2026-12-07T10:00:00.000Z';

async function setup(trusted = [trainer.publicKey]) {
  const bus = new InMemoryBus({ defaultPartitions: 3 });
  await bus.ensureTopics([{ topic: TOPIC, compacted: true }]);
  const rejected: string[] = [];
  const view = new ModelRegistryView(bus, {
    topic: TOPIC,
    groupPrefix: 'test-signed',
    verifyKeys: parseVerifyKeys(trusted.map((k) => pem(k, 'spki')).join('\n'), 'ML_VERIFY_KEYS_FILE'),
    onRejected: (n, v, reason, signer) => rejected.push(`${n}/${v}: ${reason}${signer ? ` (${signer})` : ''}`),
  });
  await view.start();
  return { bus, view, rejected };
}

describe('signed model versions', () => {
  it('applies versions the trainer signed, and refuses manifests written by anyone else while the signed version keeps being served', async () => {
    const { bus, view, rejected } = await setup();
    await publishModel(bus, { topic: TOPIC, name: 'pricing', version: 1, bytes: bytesOf(30), metadata: {}, publishedAt: at, signingKey: trainer.privateKey });
    await view.catchUp();
    expect(view.get('pricing')!.manifest.version).toBe(1);

    // Version 2 written with the bus directly: its chunks and an unsigned manifest.
    const forged = bytesOf(30, 9);
    const manifest = (v: number) => JSON.stringify({ name: 'pricing', version: v, sha256: createHash('sha256').update(forged).digest('hex'), size: 30, chunks: 1, chunkBytes: 30, publishedAt: at, metadata: {} });
    await bus.publish({ topic: TOPIC, key: 'model/pricing/2/chunk/0', value: Buffer.from(forged) });
    await bus.publish({ topic: TOPIC, key: 'model/pricing/2', value: manifest(2) });
    // Signed by a key that is not the trainer's; a trainer signature copied onto other bytes; a header that is not a signature.
    await bus.publish({ topic: TOPIC, key: 'model/pricing/3/chunk/0', value: Buffer.from(forged) });
    await bus.publish({ topic: TOPIC, key: 'model/pricing/3', value: manifest(3), headers: { [SIGNATURE_HEADER]: signManifest(manifest(3), stranger.privateKey) } });
    await bus.publish({ topic: TOPIC, key: 'model/pricing/1', value: manifest(1), headers: { [SIGNATURE_HEADER]: signManifest(manifest(3), trainer.privateKey) } });
    await bus.publish({ topic: TOPIC, key: 'model/pricing/3', value: manifest(3), headers: { [SIGNATURE_HEADER]: 'ed25519:x' } });
    await view.catchUp();
    expect(rejected).toEqual([
      'pricing/2: unsigned',
      `pricing/3: unknown_key (${keyIdOf(stranger.publicKey)})`,
      `pricing/1: bad_signature (${keyIdOf(trainer.publicKey)})`,
      'pricing/3: bad_signature',
    ]);
    expect(view.list().map((m) => [m.manifest.version, [...m.bytes]])).toEqual([[1, [...bytesOf(30)]]]);
    await view.stop();
  });

  it('trusts every key of the verify file, so a rotation serves versions signed by the old and the new key', async () => {
    const { bus, view, rejected } = await setup([trainer.publicKey, next.publicKey]);
    await publishModel(bus, { topic: TOPIC, name: 'm', version: 1, bytes: bytesOf(5), metadata: {}, publishedAt: at, signingKey: trainer.privateKey });
    await publishModel(bus, { topic: TOPIC, name: 'm', version: 2, bytes: bytesOf(5, 1), metadata: {}, publishedAt: at, signingKey: next.privateKey });
    await publishModel(bus, { topic: TOPIC, name: 'm', version: 3, bytes: bytesOf(5, 2), metadata: {}, publishedAt: at });
    await view.catchUp();
    expect([view.list().map((m) => m.manifest.version), rejected]).toEqual([[1, 2], ['m/3: unsigned']]);
    await view.stop();
  });

  it('signs the exact manifest bytes as `ed25519:<key id>:<base64>` in the model-signature header', async () => {
    const bus = new InMemoryBus();
    await bus.ensureTopics([{ topic: TOPIC }]);
    const manifest = await publishModel(bus, { topic: TOPIC, name: 'm', version: 1, bytes: bytesOf(5), metadata: { type: 'kmeans' }, publishedAt: at, signingKey: trainer.privateKey });
    const record = bus.messages(TOPIC).find((m) => m.key === 'model/m/1')!;
    expect(record.value.toString()).toBe(JSON.stringify(manifest));
    expect(record.headers).toEqual({ 'content-type': 'application/json', 'model-signature': expect.stringMatching(new RegExp(`^ed25519:${keyIdOf(trainer.publicKey)}:[A-Za-z0-9+/]{86}==$`)) });
    // Ed25519 is deterministic: the same bytes and key give the same header.
    expect(record.headers[SIGNATURE_HEADER]).toBe(signManifest(record.value, trainer.privateKey));
    expect(keyIdOf(trainer.privateKey)).toBe(keyIdOf(trainer.publicKey));
  });

  it('reads keys from PEM and names the source and block in every refusal', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect([...parseVerifyKeys(`${pem(trainer.publicKey, 'spki')}${pem(next.publicKey, 'spki')}`, 'F').keys()]).toEqual([keyIdOf(trainer.publicKey), keyIdOf(next.publicKey)]);
    expect(keyIdOf(parseSigningKey(pem(trainer.privateKey, 'pkcs8'), 'S'))).toBe(keyIdOf(trainer.publicKey));
    expect(() => parseVerifyKeys('nothing here', 'ML_VERIFY_KEYS_FILE')).toThrow(new RegistryError('ML_VERIFY_KEYS_FILE must hold at least one PEM "PUBLIC KEY" block (Ed25519), found none'));
    expect(() => parseVerifyKeys(pem(trainer.privateKey, 'pkcs8'), 'ML_VERIFY_KEYS_FILE')).toThrow(new RegistryError('ML_VERIFY_KEYS_FILE: PEM block 1 must be a "PUBLIC KEY", got "PRIVATE KEY"'));
    expect(() => parseVerifyKeys(pem(trainer.publicKey, 'spki') + pem(rsa.publicKey, 'spki'), 'ML_VERIFY_KEYS_FILE')).toThrow(new RegistryError('ML_VERIFY_KEYS_FILE: PEM block 2 must be an Ed25519 key, got rsa'));
    expect(() => parseSigningKey(pem(rsa.privateKey, 'pkcs8'), 'ML_SIGNING_KEY_FILE')).toThrow(new RegistryError('ML_SIGNING_KEY_FILE must hold an Ed25519 private key, got rsa'));
    expect(() => parseSigningKey(pem(trainer.publicKey, 'spki'), 'ML_SIGNING_KEY_FILE')).toThrow(RegistryError);
  });
});
