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

// Nest 12's packages are ES modules only. The service loads them with Node's require(esm), which
// Jest's module registry does not offer before Node 24.9, so they are compiled to CommonJS here.
// Their import() calls become require() too: a package they load lazily (class-validator for the
// validation pipe, @fastify/static for Swagger UI) must be the same instance the code under test
// registered its metadata with, not a second copy loaded outside Jest's registry.
const esmToCommonJs = [
  '@swc/jest',
  {
    jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022', keepClassNames: true },
    module: { type: 'commonjs', ignoreDynamic: false },
    sourceMaps: false,
  },
];
// Packages (or scopes) whose files are ES modules, wherever npm nests them.
const ESM_ONLY = ['@nestjs', 'cookie', 'path-to-regexp'];

module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swc, '/node_modules/.+\\.js$': esmToCommonJs },
  // Leaves alone a file whose innermost package is not in that list.
  transformIgnorePatterns: [`/node_modules/(?!(?:${ESM_ONLY.join('|')})/)(?:@[^/]+/)?[^/]+/(?!.*node_modules/)`],
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
