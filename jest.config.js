/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  // The fault suite has a job of its own: npm run test:fault.
  testPathIgnorePatterns: ['/node_modules/', '/test/fault/'],
  transform: {
    '^.+\\.(t|j)sx?$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
          keepClassNames: true,
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  // @nestjs/* ships ES modules only; Jest on Node 20 must transform them to require them.
  transformIgnorePatterns: ['/node_modules/(?!@nestjs/)'],
  testTimeout: 60000,
  setupFilesAfterEnv: ['<rootDir>/test/support/quiet-logger.js'],
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
  maxWorkers: 2,
};
