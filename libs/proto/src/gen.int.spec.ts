// Drift check: runs scripts/proto-gen.sh (buf and the ts-proto plugin, as processes), so it is an
// integration test; it needs no broker.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const committed = join(root, 'libs', 'proto', 'src', 'gen');

/** Every file under `dir` as { relative path: contents }. */
function readTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

describe('generated protobuf code', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'proto-gen-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('is identical to a fresh `scripts/proto-gen.sh` run (run `npm run proto:gen` and commit when this fails)', () => {
    execFileSync('bash', [join(root, 'scripts', 'proto-gen.sh'), tmp], { cwd: root, stdio: 'pipe' });
    const fresh = readTree(join(tmp, 'libs', 'proto', 'src', 'gen'));
    const current = readTree(committed);
    expect(Object.keys(current)).toEqual(Object.keys(fresh));
    for (const file of Object.keys(fresh)) expect({ file, text: current[file] }).toEqual({ file, text: fresh[file] });
  }, 60_000);
});
