// ESLint for the whole workspace (run per project by `nx run-many -t lint`).
// typescript-eslint's recommended rules, plus Nx's module-boundary rule, which reads the tags in each
// project.json:
//   type:contracts  event schemas, topic names: imports only contracts
//   type:algo       pure algorithms (aggregation, ml, batch): contracts and other algos
//   type:adapter    Kafka, HTTP runtime, registries, gRPC (generated code and the predictor client): algos and contracts
//   type:app        services: adapters, algos, contracts — never another app
//   type:composition  apps/embedded: runs the six apps in one process, so it may import them
//   type:testing    test helpers: anything
// Test files may also use the testing lib, and app tests may start other apps (through their index).
import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const layers = {
  'type:contracts': ['type:contracts'],
  'type:algo': ['type:algo', 'type:contracts'],
  'type:adapter': ['type:adapter', 'type:algo', 'type:contracts'],
  'type:app': ['type:adapter', 'type:algo', 'type:contracts'],
  'type:composition': ['type:app', 'type:adapter', 'type:algo', 'type:contracts'],
  'type:testing': ['type:testing', 'type:adapter', 'type:algo', 'type:contracts'],
  'type:tooling': ['type:testing', 'type:adapter', 'type:algo', 'type:contracts', 'type:app'],
};
const depConstraints = (extra) =>
  Object.entries(layers).map(([sourceTag, tags]) => ({ sourceTag, onlyDependOnLibsWithTags: [...tags, ...extra] }));
// Apps are imported only through their src/index, and only where a whole service is composed.
const apps = 'api-gateway|ingest|aggregator|ml-trainer|ml-predictor|batch-processor';
const appEntry = `^(\\.\\./)+(${apps})/src/index$`;
const appEntryFromRoot = `^(\\.\\./)+apps/(${apps})/src/index$`;

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'dist/**', 'tmp/**', 'coverage/**', '.nx/**', 'libs/proto/src/gen/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      // kafka's own integration test uses the testing lib, which builds on kafka: a test-only cycle.
      '@nx/enforce-module-boundaries': ['error', { depConstraints: depConstraints([]), allow: [], ignoredCircularDependencies: [['kafka', 'testing']] }],
      // A lib is used through its index only; no `@pipeline/x/src/...`.
      'no-restricted-imports': ['error', { patterns: [{ group: ['@pipeline/*/**'], message: 'import the lib through its public index (@pipeline/<lib>)' }] }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // One public index per lib, with named exports only.
    files: ['libs/*/src/index.ts'],
    rules: { 'no-restricted-syntax': ['error', { selector: 'ExportAllDeclaration', message: 'name each export (no `export *`)' }] },
  },
  {
    files: ['apps/embedded/src/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': ['error', { depConstraints: depConstraints([]), allow: [appEntry] }] },
  },
  {
    // Tests may use the testing lib, load modules inside jest.isolateModules with require(), and start
    // whole apps.
    files: ['**/*.spec.ts', '**/__tests__/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        { depConstraints: depConstraints(['type:testing']), allow: [appEntry, appEntryFromRoot], ignoredCircularDependencies: [['kafka', 'testing']] },
      ],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // Benchmarks measure whole apps as well as libs.
    files: ['bench/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': ['error', { depConstraints: depConstraints([]), allow: [appEntryFromRoot] }] },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: {
      globals: { require: 'readonly', module: 'writable', exports: 'writable', process: 'readonly', console: 'readonly', __dirname: 'readonly', URL: 'readonly', fetch: 'readonly', AbortSignal: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/__fixtures__/**/*.js'],
    languageOptions: { globals: { test: 'readonly', expect: 'readonly' } },
  },
);
