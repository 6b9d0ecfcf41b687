import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { RegistryError } from './errors';

/**
 * Record header that carries a manifest's or a withdrawal's signature on the model topic:
 *
 *   model-signature: ed25519:<key id>:<base64 signature>
 *
 * The signature is Ed25519 over `SIGNED_PREFIX` followed by the manifest record's value bytes
 * exactly as written (no re-serialization, so no canonical JSON is needed). The manifest holds the
 * model's size and SHA-256, and a reader accepts chunks only if they match both, so the signature
 * covers the model bytes too. `key id` = the first 16 hex digits of SHA-256 of the public key's DER
 * (SPKI) — it picks the key during a rotation and names the signer in logs; it is not trusted.
 *
 *   model-signature: ed25519:3f2a9c0e51b7d804:q0x…(88 base64 characters)
 *
 * A withdrawal record (see ModelWithdrawal.ts) is signed the same way over `WITHDRAWAL_PREFIX` and
 * its value bytes. The two prefixes differ, so a manifest's signature never verifies as a
 * withdrawal's (a signed manifest cannot be replayed to withdraw) and vice versa.
 */
export const SIGNATURE_HEADER = 'model-signature';

/** Domain separation: these bytes signed can never be mistaken for another message signed with the key. */
const MANIFEST_PREFIX = Buffer.from('pipeline.ml.models manifest v1\n', 'utf8');
const WITHDRAWAL_PREFIX = Buffer.from('pipeline.ml.models withdrawal v1\n', 'utf8');
const HEADER = /^ed25519:([0-9a-f]{16}):([A-Za-z0-9+/]{86}==)$/;

/**
 * Why a record on a manifest key was refused: no signature header, a key that is not trusted, or a
 * signature that does not verify; `unsigned_withdrawal` is a bare tombstone (which cannot carry a
 * signature) on the manifest key of a signed version that no signed withdrawal withdrew.
 */
export type SignatureRejection = 'unsigned' | 'unknown_key' | 'bad_signature' | 'unsigned_withdrawal';

/** The key id of an Ed25519 public key (or of the public half of a private key). */
export function keyIdOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

/** The `model-signature` header value for a manifest record's exact value bytes. */
export function signManifest(manifestValue: Uint8Array | string, privateKey: KeyObject): string {
  return signRecord(MANIFEST_PREFIX, manifestValue, privateKey);
}

/** The `model-signature` header value for a withdrawal record's exact value bytes. */
export function signWithdrawal(withdrawalValue: Uint8Array | string, privateKey: KeyObject): string {
  return signRecord(WITHDRAWAL_PREFIX, withdrawalValue, privateKey);
}

/**
 * Checks a manifest record against the trusted public keys: `undefined` when its `model-signature`
 * header verifies under the key it names, else why not.
 */
export function checkManifestSignature(manifestValue: Uint8Array, header: string | undefined, trusted: ReadonlyMap<string, KeyObject>): SignatureRejection | undefined {
  return checkRecordSignature(MANIFEST_PREFIX, manifestValue, header, trusted);
}

/** As checkManifestSignature, for a withdrawal record (a manifest's signature never passes here). */
export function checkWithdrawalSignature(withdrawalValue: Uint8Array, header: string | undefined, trusted: ReadonlyMap<string, KeyObject>): SignatureRejection | undefined {
  return checkRecordSignature(WITHDRAWAL_PREFIX, withdrawalValue, header, trusted);
}

function signRecord(prefix: Buffer, value: Uint8Array | string, privateKey: KeyObject): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const signature = sign(null, Buffer.concat([prefix, bytes]), privateKey);
  return `ed25519:${keyIdOf(privateKey)}:${signature.toString('base64')}`;
}

function checkRecordSignature(prefix: Buffer, value: Uint8Array, header: string | undefined, trusted: ReadonlyMap<string, KeyObject>): SignatureRejection | undefined {
  if (header === undefined || header === '') return 'unsigned';
  const m = HEADER.exec(header);
  if (!m) return 'bad_signature';
  const key = trusted.get(m[1]!);
  if (!key) return 'unknown_key';
  return verify(null, Buffer.concat([prefix, value]), key, Buffer.from(m[2]!, 'base64')) ? undefined : 'bad_signature';
}

/**
 * The trusted keys by key id, from PEM text holding one or more `-----BEGIN PUBLIC KEY-----`
 * blocks (several during a rotation: the old and the new trainer key). Every block must be an
 * Ed25519 public key; `source` names the input in errors (e.g. the variable).
 */
export function parseVerifyKeys(pem: string, source: string): Map<string, KeyObject> {
  const blocks = pem.match(/-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----/g) ?? [];
  if (blocks.length === 0) throw new RegistryError(`${source} must hold at least one PEM "PUBLIC KEY" block (Ed25519), found none`);
  const keys = new Map<string, KeyObject>();
  blocks.forEach((block, i) => {
    if (!block.startsWith('-----BEGIN PUBLIC KEY-----')) throw new RegistryError(`${source}: PEM block ${i + 1} must be a "PUBLIC KEY", got "${block.slice(11, block.indexOf('-----', 11))}"`);
    let key: KeyObject;
    try {
      key = createPublicKey(block);
    } catch (err) {
      throw new RegistryError(`${source}: PEM block ${i + 1} is not a valid public key: ${(err as Error).message}`);
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new RegistryError(`${source}: PEM block ${i + 1} must be an Ed25519 key, got ${key.asymmetricKeyType}`);
    keys.set(keyIdOf(key), key);
  });
  return keys;
}

/** The trainer's signing key from PEM text (`-----BEGIN PRIVATE KEY-----`, PKCS#8, Ed25519, unencrypted). */
export function parseSigningKey(pem: string, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new RegistryError(`${source} must hold a PEM Ed25519 private key (PKCS#8, unencrypted): ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new RegistryError(`${source} must hold an Ed25519 private key, got ${key.asymmetricKeyType}`);
  return key;
}
