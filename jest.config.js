/** @type {import('jest').Config} */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    // Keep import() native: the embedded PostgreSQL package is an ES module.
    module: { type: 'commonjs', ignoreDynamic: true },
    sourceMaps: 'inline',
  },
];

module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swc },
  // The benchmark's own tests sit beside it: no test imports the bench, no bench code imports a test.
  testMatch: ['<rootDir>/test/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts', '<rootDir>/bench/**/*.spec.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  setupFiles: ['reflect-metadata'],
  testTimeout: 60_000,
  maxWorkers: 2,
  // A worker that has run several e2e suites holds a 350-500 MB heap, and freeing it on this VM took
  // longer than the 500 ms Jest waits before force-exiting a worker ("A worker process has failed to
  // exit gracefully"). Above this much memory after a file, a worker is replaced instead of reused.
  workerIdleMemoryLimit: '300MB',
};
