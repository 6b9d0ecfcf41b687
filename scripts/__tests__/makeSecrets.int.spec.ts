// scripts/make-secrets.sh, run for real (it calls openssl): the files it writes are what the services
// accept (INTERNAL_TOKEN_FILE, ML_SIGNING_KEY_FILE, ML_VERIFY_KEYS_FILE), it never replaces a file,
// and it refuses to make a signing key that the public key already there would not match.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { checkManifestSignature, keyIdOf, parseSigningKey, parseVerifyKeys, signManifest } from '@pipeline/model-registry';
import { parseInternalTokens } from '@pipeline/service-runtime';

const SCRIPT = join(__dirname, '..', 'make-secrets.sh');
const FILES = ['internal-token', 'ml-signing-key.pem', 'ml-verify-keys.pem'];
const makeSecrets = (dir: string) => spawnSync('bash', [SCRIPT, dir], { encoding: 'utf8', timeout: 30_000 });
const read = (dir: string) => Object.fromEntries(FILES.map((f) => [f, readFileSync(join(dir, f), 'utf8')]));

describe('scripts/make-secrets.sh', () => {
  let dir: string;
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'make-secrets-')), 'secrets');
  });
  afterEach(() => rmSync(dirname(dir), { recursive: true, force: true }));

  it('writes a token and an Ed25519 key pair that the services accept, in a 0700 directory', () => {
    const r = makeSecrets(dir);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    const files = read(dir);
    const tokens = parseInternalTokens(files['internal-token']!, 'INTERNAL_TOKEN_FILE');
    expect(tokens).toHaveLength(1);
    expect(tokens[0]).toMatch(/^[0-9a-f]{64}$/);
    const signingKey = parseSigningKey(files['ml-signing-key.pem']!, 'ML_SIGNING_KEY_FILE');
    const verifyKeys = parseVerifyKeys(files['ml-verify-keys.pem']!, 'ML_VERIFY_KEYS_FILE');
    expect([...verifyKeys.keys()]).toEqual([keyIdOf(signingKey)]);
    // What the trainer signs, the predictor verifies.
    const manifest = Buffer.from('{"name":"m","version":1}');
    expect(checkManifestSignature(manifest, signManifest(manifest, signingKey), verifyKeys)).toBeUndefined();
    // The directory keeps other users out; the files are readable by the containers' uid 1000 through the bind mount.
    expect([statSync(dir).mode & 0o777, ...FILES.map((f) => statSync(join(dir, f)).mode & 0o777)]).toEqual([0o700, 0o644, 0o644, 0o644]);
  });

  it('keeps every file that exists, byte for byte, when run again', () => {
    expect(makeSecrets(dir).status).toBe(0);
    const before = read(dir);
    const again = makeSecrets(dir);
    expect({ status: again.status, stdout: again.stdout }).toEqual({
      status: 0,
      stdout: FILES.map((f, i) => `kept  ${join(dir, f)} (${['internal service token', 'ML signing key (Ed25519 private)', 'ML verify key (Ed25519 public)'][i]})\n`).join(''),
    });
    expect(read(dir)).toEqual(before);
  });

  it('makes the public key from a signing key that exists, and refuses a new signing key when only the public key is left', () => {
    expect(makeSecrets(dir).status).toBe(0);
    const { 'ml-signing-key.pem': signing, 'ml-verify-keys.pem': verify } = read(dir);
    rmSync(join(dir, 'ml-verify-keys.pem'));
    expect(makeSecrets(dir).status).toBe(0);
    expect(read(dir)['ml-verify-keys.pem']).toBe(verify);
    expect(read(dir)['ml-signing-key.pem']).toBe(signing);

    rmSync(join(dir, 'ml-signing-key.pem'));
    const r = makeSecrets(dir);
    expect({ status: r.status, stderr: r.stderr }).toEqual({
      status: 1,
      stderr: `make-secrets: ${join(dir, 'ml-verify-keys.pem')} exists but ${join(dir, 'ml-signing-key.pem')} does not, and a new signing key would not match it: restore the private key, or remove ${join(dir, 'ml-verify-keys.pem')} to make a new pair\n`,
    });
    expect(existsSync(join(dir, 'ml-signing-key.pem'))).toBe(false);
  });
});
