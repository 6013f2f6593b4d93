import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.data/**', 'client/atiru-api.d.ts', '*.js', '*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: false } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // On Node 20 the first AsyncLocalStorage entry turns async hooks on for the whole process, and
    // every promise of every request pays for them. MikroORM's flush and em.transactional enter
    // one; src/database/transaction.ts says what to use instead.
    files: ['src/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[property.name=/^(flush|persistAndFlush|transactional)$/][object.type!='ThisExpression']",
          message: 'No unit-of-work flush or em.transactional (they enter an AsyncLocalStorage): use inTransaction() with em.insert / em.nativeUpdate.',
        },
        {
          selector: "ImportSpecifier[imported.name='AsyncLocalStorage']",
          message: 'One AsyncLocalStorage in the service, the request context (src/common/logging/request-context.ts): use currentRequestId().',
        },
      ],
    },
  },
  {
    files: ['src/common/logging/request-context.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // AccountsModule builds on AuthModule (access tokens, session revocations); the way back would be a cycle.
    files: ['src/auth/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/accounts/**'], message: 'src/auth does not import src/accounts: accounts build on authentication, not the reverse.' }] }] },
  },
  {
    // The benchmark and the tests are separate programs: neither reaches into the other's files.
    files: ['bench/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/test/**'], message: 'The benchmark does not import the tests or their support.' }] }] },
  },
  {
    files: ['test/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/bench/**'], message: 'Tests do not import the benchmark; its own tests sit beside it in bench/.' }] }] },
  },
);
