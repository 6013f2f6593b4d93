import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

// The service serves the build at /dashboard/ under a content security policy that allows scripts
// and styles from the service only, so nothing may be inlined into the HTML.
export default defineConfig({
  root: here,
  base: '/dashboard/',
  publicDir: resolve(here, 'public'),
  clearScreen: false,
  build: {
    outDir: resolve(here, '..', 'dist', 'dashboard'),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
  },
  server: {
    // `npm run dashboard:dev`: the API from a service started beside it (ATIRU_API, else its usual port).
    proxy: Object.fromEntries(['/auth', '/users', '/docs'].map((path) => [path, process.env.ATIRU_API ?? 'http://localhost:3000'])),
  },
});
