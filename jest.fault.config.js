/** The fault suite: `npm run test:fault`; run by `.ci/run` after `npm test`. */
const base = require('./jest.config');

module.exports = {
  ...base,
  roots: ['<rootDir>/test/fault'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 180000,
  // Fault scenarios start topologies and time leases: one file at a time keeps timings honest.
  maxWorkers: 1,
};
