// The lint rules that keep the layers apart (eslint.config.mjs), tried on imports they must refuse and
// ones they must let through, so a config change that silently disables them fails here.
// ESLint loads its ES-module config with a dynamic import, which Jest's module sandbox does not allow,
// so every case is linted in one child process of the same Node (no other binary) before the tests.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const cases = {
  algoImportsAdapter: ['libs/aggregation/src/x.ts', "import { KafkaJsBus } from '@pipeline/kafka';\nexport const b = KafkaJsBus;\n"],
  contractsImportsAlgo: ['libs/contracts/src/x.ts', "import { DDSketch } from '@pipeline/aggregation';\nexport const d = DDSketch;\n"],
  appImportsApp: ['apps/ingest/src/x.ts', "import { createGateway } from '../../api-gateway/src/index';\nexport const g = createGateway;\n"],
  deepImport: ['apps/ingest/src/x.ts', "import { DDSketch } from '@pipeline/aggregation/src/DDSketch';\nexport const d = DDSketch;\n"],
  exportStar: ['libs/ml/src/index.ts', "export * from './KMeans';\n"],
  appUsesLibs: ['apps/aggregator/src/x.ts', "import { KafkaJsBus } from '@pipeline/kafka';\nimport { DDSketch } from '@pipeline/aggregation';\nexport const x = [KafkaJsBus, DDSketch];\n"],
  embeddedComposesApps: ['apps/embedded/src/x.ts', "import { createIngest } from '../../ingest/src/index';\nexport const i = createIngest;\n"],
  testUsesTesting: ['libs/aggregation/src/x.spec.ts', "import { waitFor } from '@pipeline/testing';\nexport const w = waitFor;\n"],
} satisfies Record<string, [file: string, code: string]>;

const lintScript = `
  const { join } = require('node:path');
  const { ESLint } = require('eslint');
  const cases = JSON.parse(process.argv[1]);
  (async () => {
    const eslint = new ESLint({ cwd: process.cwd() });
    const out = {};
    for (const [name, [file, code]] of Object.entries(cases)) {
      const [r] = await eslint.lintText(code, { filePath: join(process.cwd(), file) });
      out[name] = r.messages.map((m) => m.ruleId + ': ' + m.message.split('\\n')[0]);
    }
    process.stdout.write(JSON.stringify(out));
  })();
`;
let problems: Record<keyof typeof cases, string[]>;
beforeAll(() => {
  problems = JSON.parse(execFileSync(process.execPath, ['-e', lintScript, JSON.stringify(cases)], { cwd: root, encoding: 'utf8' }));
}, 60_000);

describe('module boundaries (eslint.config.mjs)', () => {
  it('refuses an algorithm lib importing an adapter, and contracts importing an algorithm', () => {
    expect(problems.algoImportsAdapter).toEqual(['@nx/enforce-module-boundaries: A project tagged with "type:algo" can only depend on libs tagged with "type:algo", "type:contracts"']);
    // Every algorithm lib uses contracts, so the rule reports this one as the cycle it would create.
    expect(problems.contractsImportsAlgo).toEqual(['@nx/enforce-module-boundaries: Circular dependency between "contracts" and "aggregation" detected: contracts -> aggregation -> contracts']);
  });

  it('refuses an app importing another app, and a deep import into a lib', () => {
    expect(problems.appImportsApp).toEqual(['@nx/enforce-module-boundaries: Projects cannot be imported by a relative or absolute path, and must begin with a npm scope']);
    expect(problems.deepImport).toContain(
      "no-restricted-imports: '@pipeline/aggregation/src/DDSketch' import is restricted from being used by a pattern. import the lib through its public index (@pipeline/<lib>)",
    );
  });

  it('refuses `export *` in a lib index', () => {
    expect(problems.exportStar).toEqual(['no-restricted-syntax: name each export (no `export *`)']);
  });

  it('lets an app use adapters and algorithms, the embedded app compose apps, and tests use the testing lib', () => {
    expect(problems.appUsesLibs).toEqual([]);
    expect(problems.embeddedComposesApps).toEqual([]);
    expect(problems.testUsesTesting).toEqual([]);
  });
});
