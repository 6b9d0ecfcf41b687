// Two tiers (see CONVENTIONS.md): `unit` runs *.spec.ts beside pure code with no I/O beyond
// loopback servers; `integration` runs *.int.spec.ts against a real Kafka broker (KAFKA_BROKERS).
const { pathsToModuleNameMapper } = require('./scripts/jest-paths.js');
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2023', parser: { syntax: 'typescript' } } }] };
const common = {
  transform,
  moduleNameMapper: pathsToModuleNameMapper(),
  testEnvironment: 'node',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/deploy', '<rootDir>/bench', '<rootDir>/scripts'],
};
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['**/*.spec.ts'], testPathIgnorePatterns: ['\\.int\\.spec\\.ts$', '/node_modules/'] },
    { ...common, displayName: 'integration', testMatch: ['**/*.int.spec.ts'], slowTestThreshold: 60 },
  ],
};
