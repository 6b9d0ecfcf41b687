// Maps the tsconfig path aliases (@pipeline/*) onto Jest's moduleNameMapper, so there is one list.
const path = require('node:path');
const base = require('../tsconfig.base.json');
exports.pathsToModuleNameMapper = () => {
  const out = {};
  for (const [alias, [target]] of Object.entries(base.compilerOptions.paths)) {
    out[`^${alias.replace('/', '\\/')}$`] = path.join(__dirname, '..', target);
  }
  return out;
};
